// Installs (or finds) the Temporal CLI the dev server runs from; prints its path.
import { ensureTemporalCli } from '../src/temporal/cli-binary';

ensureTemporalCli(process.env.TEMPORAL_CLI_PATH || undefined).then(
  (bin) => {
    if (!bin) {
      console.error('No Go toolchain: the SDK will download the dev server when abono starts.');
      return;
    }
    console.log(bin);
  },
  (err) => {
    console.error(String(err?.message ?? err));
    process.exit(1);
  },
);
