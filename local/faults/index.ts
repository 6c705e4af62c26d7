/** Fault injection for the local cloud: settings, the injector, and the edge's fault proxy. */
export { checkFaultTargets, type FaultConfig, FaultConfigError, loadFaultConfig } from './config.ts';
export { faultInterceptor, faultsStatusRoute, LOCAL_CLOUD_ACCESS_KEY_ID } from './edge.ts';
export { FaultInjector, type FaultSnapshot, type InvocationFault } from './injector.ts';
