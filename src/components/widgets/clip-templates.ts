/** Zero-shot prompt templates of the CLIP widgets. */

/** A zero-shot prompt template: "{word}" becomes the digit's word, "{digit}" its numeral. */
export interface PromptTemplate {
  id: string;
  template: string;
}

export const DEFAULT_TEMPLATES: PromptTemplate[] = [
  { id: 'handwritten', template: 'a handwritten {word}' },
  { id: 'digit', template: 'the digit {digit}' },
  { id: 'word', template: '{word}' },
  { id: 'picture', template: 'a picture of the number {word}' },
];

/** Id of the choice that averages the prompt embeddings of every template. */
export const ENSEMBLE = 'ensemble';

/** Lists the template selector's choices for a list of templates: their ids, then the ensemble. */
export function templateChoices(templates: readonly PromptTemplate[]): string[] {
  return [...templates.map((entry) => entry.id), ENSEMBLE];
}

/** The selector's choices with the default templates. */
export const CLIP_TEMPLATE_CHOICES = templateChoices(DEFAULT_TEMPLATES);
