// The dashboard's pages, in the order of the navigation. A page is a module whose default export is
//   { route, title, nav, render(root, params, ctx) }
// `route` is the first segment of the location hash (#/route/param/...; '' is the home page), `render` fills
// `root` and may answer a function that stops what it started (timers) when the person leaves the page.
// Adding a page: write pages/NAME.js and add it here.
import portfolio from './portfolio.js';
import files from './files.js';
import imports from './imports.js';
import credit from './credit.js';

export const PAGES = [portfolio, files, imports, credit];
