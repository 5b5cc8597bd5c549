import { listIds, loadRecord } from '../state-store.js';
import { ociState, statusOf } from './inspect.js';

export function listContainers(root: string): ReturnType<typeof ociState>[] {
  const out: ReturnType<typeof ociState>[] = [];
  for (const id of listIds(root)) {
    try {
      const record = loadRecord(root, id);
      out.push(ociState({ record, status: statusOf(root, record) }));
    } catch {
      // a directory without readable state (create in progress or killed): skip
    }
  }
  return out;
}
