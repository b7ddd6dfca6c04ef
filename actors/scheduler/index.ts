/**
 * The scheduler (issue 13): jobs (once, interval, hourly, daily, cron with time zones) whose
 * fires submit tasks to the task runtime, held by one scheduler actor with one timer, Temporal-style
 * overlap and catch-up policies, and the `/api/v1/aoa/jobs` routes.
 */
export { schedulerModule, SCHEDULER_MODULE, type SchedulerModuleOptions } from './module.js';
export { Scheduler, view as jobView, type JobView } from './scheduler.js';
export { type TaskSubmitter, resolveSubmitter } from './submitter.js';
export { JobCalendar, fireId } from './calendar.js';
export { parseJob, jobBodySchema, type JobBody, type JobDefinition, type OverlapPolicy } from './job-spec.js';
export { type JobState, jobStateSchema } from './job-state.js';
export { LmdbJobStore, MemoryJobStore, SCHEDULES_DB, type JobStore } from './job-store.js';
