import * as z from 'zod/mini';
import { int64, stringMap, uint32, uint64 } from './common.js';

// linux.resources: typed where the field is a plain number or string,
// loose everywhere so newer kernels' knobs pass through.

const optInt64 = z.optional(int64);
const optUint64 = z.optional(uint64);
const optNumber = z.optional(z.number());
const optBoolean = z.optional(z.boolean());

const deviceRuleSchema = z.looseObject({
  allow: z.boolean(),
  type: z.optional(z.enum(['a', 'c', 'b'])),
  major: optInt64,
  minor: optInt64,
  access: z.optional(z.string().check(z.regex(/^[rwm]*$/, { error: 'expected a combination of r, w and m' }))),
});

const memorySchema = z.looseObject({
  limit: optInt64,
  reservation: optInt64,
  swap: optInt64,
  kernel: optInt64,
  kernelTCP: optInt64,
  swappiness: optUint64,
  disableOOMKiller: optBoolean,
  useHierarchy: optBoolean,
  checkBeforeUpdate: optBoolean,
});

const cpuSchema = z.looseObject({
  shares: optUint64,
  quota: optInt64,
  burst: optUint64,
  period: optUint64,
  realtimeRuntime: optInt64,
  realtimePeriod: optUint64,
  cpus: z.optional(z.string()),
  mems: z.optional(z.string()),
  idle: optInt64,
});

const weightDeviceSchema = z.looseObject({
  major: int64,
  minor: int64,
  weight: optNumber,
  leafWeight: optNumber,
});

const throttleDeviceSchema = z.looseObject({ major: int64, minor: int64, rate: uint64 });
const throttleList = z.optional(z.array(throttleDeviceSchema));

const blockIOSchema = z.looseObject({
  weight: optNumber,
  leafWeight: optNumber,
  weightDevice: z.optional(z.array(weightDeviceSchema)),
  throttleReadBpsDevice: throttleList,
  throttleWriteBpsDevice: throttleList,
  throttleReadIOPSDevice: throttleList,
  throttleWriteIOPSDevice: throttleList,
});

const hugepageLimitSchema = z.looseObject({ pageSize: z.string(), limit: uint64 });

const networkSchema = z.looseObject({
  classID: z.optional(uint32),
  priorities: z.optional(z.array(z.looseObject({ name: z.string(), priority: uint32 }))),
});

const rdmaSchema = z.record(
  z.string(),
  z.looseObject({ hcaHandles: z.optional(uint32), hcaObjects: z.optional(uint32) }),
);

export const resourcesSchema = z.looseObject({
  devices: z.optional(z.array(deviceRuleSchema)),
  memory: z.optional(memorySchema),
  cpu: z.optional(cpuSchema),
  pids: z.optional(z.looseObject({ limit: int64 })),
  blockIO: z.optional(blockIOSchema),
  hugepageLimits: z.optional(z.array(hugepageLimitSchema)),
  network: z.optional(networkSchema),
  rdma: z.optional(rdmaSchema),
  unified: z.optional(stringMap),
});
