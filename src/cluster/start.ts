import type { Cluster, ClusterOptions } from './topology';

export async function startClusterProcesses(_opts: ClusterOptions): Promise<Cluster> {
  throw new Error('startCluster: being implemented');
}
