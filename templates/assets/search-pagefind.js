/* Pagefind's script, for a site whose index is in shards: the search page (search.js) points
   Pagefind's component UI here (its bundle path "assets/search-", to which it adds "pagefind.js").
   The component merges the shards one after another, each waiting for its entry and meta files,
   so every shard cost the reader's first search a few round trips. Here every merge starts at
   once, and a search or the filters wait until all of them are done: the same index, loaded in
   parallel. The main bundle is still the one in pagefind/. */
import * as pagefind from "../pagefind/pagefind.js";

const bundle = new URL("../pagefind/", import.meta.url).href;

export function createInstance(options) {
  const instance = pagefind.createInstance(Object.assign({}, options, { basePath: bundle }));
  const merging = [];
  // Whether every merge succeeded. Pagefind cannot search once one failed (a search page older
  // than the site, naming a shard it no longer has; a site half uploaded), and the component
  // catches no error: it would say "Searching..." for ever. So the searches then find nothing,
  // quietly, and search.js shows its notice instead of the results.
  const merged = () => Promise.all(merging).then(() => true, () => false);
  return Object.assign({}, instance, {
    mergeIndex(path, mergeOptions) {
      merging.push(instance.mergeIndex(path, mergeOptions).catch((error) => {
        document.dispatchEvent(new CustomEvent("briefkit:search-unavailable", { detail: path }));
        throw error;
      }));
      return Promise.resolve();
    },
    async search(term, searchOptions) {
      return (await merged()) ? instance.search(term, searchOptions) : undefined;
    },
    async debouncedSearch(term, searchOptions, timeout) {
      return (await merged()) ? instance.debouncedSearch(term, searchOptions, timeout) : null;
    },
    async preload(term, searchOptions) {
      if (await merged()) await instance.preload(term, searchOptions);
    },
    async filters() {
      return (await merged()) ? instance.filters() : {};
    },
  });
}
