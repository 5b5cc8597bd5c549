import { z } from 'zod';
import { int64, stringMap, uint32, uint64 } from './common.js';

// linux.resources: typed where the field is a plain number or string,
// loose everywhere so newer kernels' knobs pass through.

const deviceRuleSchema = z.looseObject({
  allow: z.boolean(),
  type: z.enum(['a', 'c', 'b']).optional(),
  major: int64.optional(),
  minor: int64.optional(),
  access: z.string().regex(/^[rwm]*$/, { error: 'expected a combination of r, w and m' }).optional(),
});

const memorySchema = z.looseObject({
  limit: int64.optional(),
  reservation: int64.optional(),
  swap: int64.optional(),
  kernel: int64.optional(),
  kernelTCP: int64.optional(),
  swappiness: uint64.optional(),
  disableOOMKiller: z.boolean().optional(),
  useHierarchy: z.boolean().optional(),
  checkBeforeUpdate: z.boolean().optional(),
});

const cpuSchema = z.looseObject({
  shares: uint64.optional(),
  quota: int64.optional(),
  burst: uint64.optional(),
  period: uint64.optional(),
  realtimeRuntime: int64.optional(),
  realtimePeriod: uint64.optional(),
  cpus: z.string().optional(),
  mems: z.string().optional(),
  idle: int64.optional(),
});

const weightDeviceSchema = z.looseObject({
  major: int64,
  minor: int64,
  weight: z.number().optional(),
  leafWeight: z.number().optional(),
});

const throttleDeviceSchema = z.looseObject({ major: int64, minor: int64, rate: uint64 });

const blockIOSchema = z.looseObject({
  weight: z.number().optional(),
  leafWeight: z.number().optional(),
  weightDevice: z.array(weightDeviceSchema).optional(),
  throttleReadBpsDevice: z.array(throttleDeviceSchema).optional(),
  throttleWriteBpsDevice: z.array(throttleDeviceSchema).optional(),
  throttleReadIOPSDevice: z.array(throttleDeviceSchema).optional(),
  throttleWriteIOPSDevice: z.array(throttleDeviceSchema).optional(),
});

const hugepageLimitSchema = z.looseObject({ pageSize: z.string(), limit: uint64 });

const networkSchema = z.looseObject({
  classID: uint32.optional(),
  priorities: z.array(z.looseObject({ name: z.string(), priority: uint32 })).optional(),
});

const rdmaSchema = z.record(
  z.string(),
  z.looseObject({ hcaHandles: uint32.optional(), hcaObjects: uint32.optional() }),
);

export const resourcesSchema = z.looseObject({
  devices: z.array(deviceRuleSchema).optional(),
  memory: memorySchema.optional(),
  cpu: cpuSchema.optional(),
  pids: z.looseObject({ limit: int64 }).optional(),
  blockIO: blockIOSchema.optional(),
  hugepageLimits: z.array(hugepageLimitSchema).optional(),
  network: networkSchema.optional(),
  rdma: rdmaSchema.optional(),
  unified: stringMap.optional(),
});
