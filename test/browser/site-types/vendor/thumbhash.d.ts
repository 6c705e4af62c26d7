// The page imports the ThumbHash decoder as ./vendor/thumbhash.js: infra/constructs/site.ts deploys the
// `thumbhash` package's file there. tsconfig.site.json maps site/ and this folder together (rootDirs), so
// that the page is checked against the package's own types.
export { thumbHashToDataURL } from 'thumbhash';
