// The runtime-spec's state of a container: what `state` prints and what every
// hook reads on stdin. Shared by the runtime and the network half's CNI hook.

export interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}
