/**
 * Label placement for the Timeline chart: entries of one lane share rows, and a label moves
 * to a lower row when it would overlap the one before it.
 */

/** Estimated width in CSS pixels of one character of an entry's name at the chart's font size (13 px). */
export const CHARACTER_WIDTH_PX = 7.6;
/** Width of the marker and the padding around it, added to every label. */
export const MARKER_ALLOWANCE_PX = 26;
/** Horizontal space kept free between two labels in the same row. */
export const LABEL_GAP_PX = 8;

export interface PlacedLabel {
  /** Left edge of the label box, in pixels from the plot's left edge. */
  left: number;
  width: number;
  /** Row within the lane, 0 at the top. */
  row: number;
  /** True when the label extends to the left of its marker, because it would pass `maxX` on the right. */
  flipped: boolean;
}

/**
 * Places labels of width `widths[i]` whose markers sit at `xs[i]` (ascending) into rows so
 * that no two labels in a row overlap or come closer than `LABEL_GAP_PX`. A label extends to
 * the right of its marker. When that would pass `maxX`, it extends to the left instead and
 * ends at `maxX` at the latest. Each label takes the first row with room for it, so rows fill
 * from the top. Keep markers at least `MARKER_ALLOWANCE_PX / 2` inside both edges, so that
 * every label box contains its marker.
 */
export function packLabels(xs: readonly number[], widths: readonly number[], maxX: number): PlacedLabel[] {
  if (xs.length !== widths.length) {
    throw new Error(`packLabels needs one width per position, got ${xs.length} positions and ${widths.length} widths.`);
  }

  const rowEnds: number[] = [];
  const markerInset = MARKER_ALLOWANCE_PX / 2;
  return xs.map((x, index) => {
    const width = widths[index];
    const flipped = x - markerInset + width > maxX;
    // A flipped label ends just right of its marker, but never beyond maxX.
    const left = flipped ? Math.min(x + markerInset, maxX) - width : x - markerInset;

    let row = rowEnds.findIndex((end) => end + LABEL_GAP_PX <= left);
    if (row === -1) {
      row = rowEnds.length;
      rowEnds.push(left + width);
    } else {
      // A flipped label can end before the row's earlier labels do, so keep the furthest end.
      rowEnds[row] = Math.max(rowEnds[row], left + width);
    }
    return { left, width, row, flipped };
  });
}
