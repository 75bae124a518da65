export { TeacherClient, TeacherError, type TeacherClientOptions, type InferOptions } from './teacher-client.js';
export { distill, STUDENT_PRESETS, type DistillOptions, type DistillReport } from './distill.js';
export { SoftLabelCache, defaultCacheDir, inputDigest } from './soft-label-cache.js';
export { SoftLabelSource, type SoftLabelSourceOptions } from './soft-label-source.js';
export { label, type LabelOptions, type LabelReport } from './label.js';
