import { describe, expect, it } from 'vitest';
import { runHooksSync } from '../../src/oci-hooks/run-sync.js';
import type { OciState } from '../../src/oci-hooks/outcome.js';

// The synchronous hook runner (the Node init's createContainer and startContainer hooks).

const state = (annotationBytes = 0): OciState => ({
  ociVersion: '1.2.0',
  id: 'hooks-sync',
  status: 'created' as const,
  bundle: '/nonexistent',
  annotations: annotationBytes ? { big: 'x'.repeat(annotationBytes) } : ({} as Record<string, string>),
});

describe('runHooksSync', () => {
  it('a hook that exits without reading its stdin fails with its own exit status, not the write\'s EPIPE', () => {
    // 256 KiB of state cannot fit in a pipe: the write meets a closed pipe whatever the timing
    expect(() => runHooksSync('startContainer', [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }], state(256 * 1024))).toThrow(
      /startContainer hook #0 \(\/bin\/sh\): exit status 3$/,
    );
  });
  it('one that exits 0 without reading is a success', () => {
    expect(() => runHooksSync('startContainer', [{ path: '/bin/true' }], state(256 * 1024))).not.toThrow();
  });
  it('one that reads the state sees it', () => {
    expect(() => runHooksSync('startContainer', [{ path: '/bin/sh', args: ['sh', '-c', 'grep -q \'"id":"hooks-sync"\'' ] }], state())).not.toThrow();
  });
});
