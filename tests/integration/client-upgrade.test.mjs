// socket.io-client scenarios over transport mode "upgrade" (see lib/scenarios.mjs).
import { clientScenarios } from "./lib/scenarios.mjs";

clientScenarios("upgrade");
