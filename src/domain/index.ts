/** The pure domain layer: import from here (`../domain/index.js`) in workflows, activities, API and CLI. */
export * from './durations.js';
export * from './errors.js';
export * from './names.js';
export * from './plan.js';
export * from './preflight.js';
export * from './progress.js';
export * from './request.js';
export * from './suggest.js';
export * from './rolling.js';
export * from './rollingPlan.js';
export * from './rollingProgress.js';
export * from './window.js';
export * from './workflowNames.js';
