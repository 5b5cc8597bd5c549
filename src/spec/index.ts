// The spec module's public API: load and validate config.json, make a default one.
export { loadBundle, loadSpecFile, parseSpec, type Bundle } from './load.js';
export { defaultSpec, type DefaultSpecOptions } from './defaults.js';
export { writeSpecFile } from './write.js';
export { NAMESPACE_TYPES, specSchema } from './schema/index.js';
export type * from './types.js';
