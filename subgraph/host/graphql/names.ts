// graph-node's names for the query fields of an entity type: the singular field is the camel-cased type name
// (`ModelVersion` → `modelVersion`), the plural field its English plural (`modelVersions`), or `<singular>_collection`
// when the plural is the same word. graph-node uses the Rust Inflector crate; these are the same English rules for
// the names subgraphs use (regular plurals, -y, -s/-x/-ch/-sh, -f/-fe, common irregular and uncountable words).

const IRREGULAR: Record<string, string> = {
  person: "people",
  man: "men",
  woman: "women",
  child: "children",
  tooth: "teeth",
  foot: "feet",
  mouse: "mice",
  goose: "geese",
  ox: "oxen",
  datum: "data",
  index: "indices",
  matrix: "matrices",
  vertex: "vertices",
  criterion: "criteria",
  analysis: "analyses",
  basis: "bases",
  crisis: "crises",
  axis: "axes",
  quiz: "quizzes",
};

const UNCOUNTABLE = new Set([
  "equipment",
  "information",
  "rice",
  "money",
  "species",
  "series",
  "fish",
  "sheep",
  "deer",
  "news",
  "data",
  "metadata",
  "software",
  "hardware",
  "police",
  "aircraft",
  "staff",
  "stuff",
  "traffic",
  "feedback",
]);

/** Splits `ModelVersion`, `NFTToken` or `model_version` into words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter((w) => w.length > 0);
}

export function camelCase(name: string): string {
  return words(name)
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase()))
    .join("");
}

function pluralWord(word: string): string {
  const lower = word.toLowerCase();
  if (UNCOUNTABLE.has(lower)) return word;
  const irregular = IRREGULAR[lower];
  if (irregular) return word[0] + irregular.slice(1);
  if (/(s|x|z|ch|sh)$/i.test(word)) return word + "es";
  if (/[^aeiou]y$/i.test(word)) return word.slice(0, -1) + "ies";
  if (/[^f]fe$/i.test(word)) return word.slice(0, -2) + "ves";
  if (/[lr]f$/i.test(word)) return word.slice(0, -1) + "ves";
  return word + "s";
}

/** The singular query field of an entity type. */
export function singularField(type: string): string {
  return camelCase(type);
}

/** The plural query field of an entity type. */
export function pluralField(type: string): string {
  const parts = words(type);
  const last = parts.pop() ?? type;
  const plural = camelCase([...parts, pluralWord(last)].join(" "));
  return plural === singularField(type) ? `${plural}_collection` : plural;
}
