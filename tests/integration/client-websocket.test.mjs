// socket.io-client scenarios over transport mode "websocket" (see lib/scenarios.mjs).
import { clientScenarios } from "./lib/scenarios.mjs";

clientScenarios("websocket");
