// The BGP lab scenario (test/bgp-lab-suite.ts) with BIRD 2 on the load balancers.
import { bgpLabSuite } from './bgp-lab-suite.js';

bgpLabSuite('bird');
