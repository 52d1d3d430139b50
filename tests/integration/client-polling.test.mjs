// socket.io-client scenarios over transport mode "polling" (see lib/scenarios.mjs).
import { clientScenarios } from "./lib/scenarios.mjs";

clientScenarios("polling");
