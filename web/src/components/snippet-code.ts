/** The tracking snippet for an ingestion key, served by the collector at `origin`. */
export function snippetCode(origin: string, key: string): string {
  return `<script defer src="${origin}/pixel.js" data-key="${key.replace(/"/g, "&quot;")}"></script>`;
}
