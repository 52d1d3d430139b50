// `herald monitor`: watches a Redis server Herald itself does not use (the seed's bin/monit.js)
// and alerts by e-mail and/or webhook when it cannot be reached or answers with errors, once per
// kind of failure, with a recovery notice when it heals.
#pragma once

#include "app/config.hpp"
#include "notify/alerter.hpp"

namespace herald::app {

notify::AlertConfig alert_config(const Settings& settings);
int run_monitor(const Settings& settings);

}  // namespace herald::app
