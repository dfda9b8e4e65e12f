// The production network edge for the VRRP engine lives in src/net (vrrpnet); this is its entry point.
export { createNetIo } from '../net/vrrp-net-io.js';
