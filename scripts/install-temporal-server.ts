// Installs (or finds) Temporal's server, its schema tool and its UI server for `npm run cluster`;
// prints their paths.
import { ensureTemporalServer } from '../src/temporal/server-binary';

ensureTemporalServer((msg) => console.error(msg)).then(
  (bins) => {
    console.log(`server:    ${bins.server}`);
    console.log(`sql tool:  ${bins.sqlTool}`);
    console.log(`UI server: ${bins.uiServer ?? '(not built: the topology runs without a UI)'}`);
  },
  (err) => {
    console.error(String(err?.message ?? err));
    process.exit(1);
  },
);
