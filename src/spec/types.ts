import type { z } from 'zod/mini';
import type {
  capabilitiesSchema,
  deviceSchema,
  hookSchema,
  hooksSchema,
  idMappingSchema,
  linuxSchema,
  mountSchema,
  namespaceSchema,
  processSchema,
  resourcesSchema,
  rlimitSchema,
  rootSchema,
  seccompSchema,
  specSchema,
  userSchema,
} from './schema/index.js';

// The OCI names for the validated config.json shapes. Unknown fields stay on
// every object (the spec allows extensions), typed as `unknown`.

export type Spec = z.output<typeof specSchema>;
export type Root = z.output<typeof rootSchema>;
export type Process = z.output<typeof processSchema>;
export type User = z.output<typeof userSchema>;
export type Capabilities = z.output<typeof capabilitiesSchema>;
export type Rlimit = z.output<typeof rlimitSchema>;
export type Mount = z.output<typeof mountSchema>;
export type Hook = z.output<typeof hookSchema>;
export type Hooks = z.output<typeof hooksSchema>;
export type Linux = z.output<typeof linuxSchema>;
export type Namespace = z.output<typeof namespaceSchema>;
export type NamespaceType = Namespace['type'];
export type Device = z.output<typeof deviceSchema>;
export type IdMapping = z.output<typeof idMappingSchema>;
export type Seccomp = z.output<typeof seccompSchema>;
export type LinuxResources = z.output<typeof resourcesSchema>;
