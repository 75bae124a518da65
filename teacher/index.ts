export { serveTeacher, TeacherServer, type ServeOptions, type TeacherState } from './server.js';
export { loadTeacherModel, type TeacherModel, type TeacherModelOptions } from './model.js';
export { DynamicBatcher } from './batcher.js';
export { TokenSet } from './auth.js';
export { softLabels, logSoftmaxRows, topKRows, topKTailKL } from './soft-labels.js';
