// The engine's floor: a workflow that does nothing but answer one update and finish, started
// by update-with-start exactly as a payment is (bench/floor/run.ts).
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export const finish = defineUpdate<string>('finish');

export async function emptyWorkflow(): Promise<void> {
  let finished = false;
  setHandler(finish, () => {
    finished = true;
    return 'done';
  });
  await condition(() => finished);
}
