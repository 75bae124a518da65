export { TeacherClient, TeacherError, type TeacherClientOptions, type InferOptions } from './teacher-client.js';
