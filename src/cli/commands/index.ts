import type { CommandEntry } from '../command.js';

// The command table. Each command lives in its own file, loaded on demand so
// `tsrun state` does not pay for zod, koffi or the CNI client.
export const commands: CommandEntry[] = [
  { name: 'create', summary: 'create a container from a bundle; it waits for `start`', load: async () => (await import('./create.js')).command },
  { name: 'start', summary: 'start the process of a created container', load: async () => (await import('./start.js')).command },
  { name: 'run', summary: 'create and start a container (tsrun run ID, or tsrun run BUNDLE-DIR)', load: async () => (await import('./run.js')).command },
  { name: 'state', summary: 'print the state of a container as runtime-spec JSON', load: async () => (await import('./state.js')).command },
  { name: 'kill', summary: 'send a signal (default SIGTERM) to the container', load: async () => (await import('./kill.js')).command },
  { name: 'delete', summary: 'delete a stopped container (--force kills it first)', load: async () => (await import('./delete.js')).command },
  { name: 'list', summary: 'list containers', load: async () => (await import('./list.js')).command },
  { name: 'ps', summary: 'list the processes of a container (host pids)', load: async () => (await import('./ps.js')).command },
  { name: 'exec', summary: 'run a new process inside a running container', load: async () => (await import('./exec.js')).command },
  { name: 'events', summary: 'resource usage of a container as JSON: once (--stats) or every --interval, and OOM events', load: async () => (await import('./events.js')).command },
  { name: 'update', summary: "change a running or paused container's cgroup limits", load: async () => (await import('./update.js')).command },
  { name: 'pause', summary: 'freeze every process of a running container', load: async () => (await import('./pause.js')).command },
  { name: 'resume', summary: 'thaw a paused container', load: async () => (await import('./resume.js')).command },
  { name: 'features', summary: 'print what this runtime supports, as JSON (runtime-spec features)', load: async () => (await import('./features.js')).command },
  { name: 'spec', summary: 'write a default config.json (like runc spec)', load: async () => (await import('./spec.js')).command },
  { name: 'net', summary: 'CNI: add, check, del, gc or status of a network attachment; show draws a container\'s network; prune removes portmap\'s unused shared chains', load: async () => (await import('./net.js')).command },
  { name: 'netns', summary: 'named network namespaces under /run/netns (like ip netns)', load: async () => (await import('./netns.js')).command },
  { name: 'bundle', summary: 'bundle import: an OCI image layout or docker-archive tar → a bundle (rootfs + config.json)', load: async () => (await import('./bundle.js')).command },
  { name: 'plugins', summary: 'plugins install [DIR]: the built-in CNI plugins as standalone executables (default /opt/cni/bin)', load: async () => (await import('./plugins.js')).command },
  { name: 'hook', summary: 'OCI hooks: `hook cni` networks a container (createRuntime) and tears it down (poststop)', load: async () => (await import('./hook.js')).command },
];
