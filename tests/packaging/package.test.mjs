// The server's Debian package, as `make package` builds it (CPack DEB from the build directory):
// its contents (dpkg-deb -c), its control fields and conffiles, the unpacked herald (--version,
// --print-config matching the shipped /etc/herald/herald.toml), and the systemd unit, which
// `systemd-analyze verify` must accept without a word.
//
// BUILD_DIR (default build) is the configured build tree; cpack runs there, reusing its binaries.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../integration/lib/server.mjs";

const run = promisify(execFile);
const BUILD = path.resolve(REPO_ROOT, process.env.BUILD_DIR ?? "build");
const BIG = { timeout: 10 * 60_000, maxBuffer: 64 << 20 };

async function sh(command, args, options = {}) {
  try {
    return await run(command, args, { ...BIG, ...options });
  } catch (e) {
    throw new Error(`${command} ${args.join(" ")} failed (${e.code}):\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

let deb;
let root;
let files;
before(async () => {
  await sh("cmake", ["--build", BUILD, "--target", "herald", "herald-bench", "herald_toml"]);
  await sh("cpack", ["-G", "DEB"], { cwd: BUILD });
  const debs = fs.readdirSync(path.join(BUILD, "package")).filter((f) => f.endsWith(".deb"));
  assert.equal(debs.length, 1, `packages: ${debs}`);
  deb = path.join(BUILD, "package", debs[0]);
  root = fs.mkdtempSync(path.join(os.tmpdir(), "herald-deb-"));
  await sh("dpkg-deb", ["-x", deb, root]);
  await sh("dpkg-deb", ["-e", deb, path.join(root, "DEBIAN")]);
  const { stdout } = await sh("dpkg-deb", ["-c", deb]);
  files = stdout.split("\n").filter(Boolean).map((line) => line.split(/\s+/).at(5));
});
after(() => root && fs.rmSync(root, { recursive: true, force: true }));

it("holds the server, its configuration and its unit, and nothing of the library", () => {
  for (const file of ["./usr/bin/herald", "./usr/bin/herald-bench", "./etc/herald/herald.toml", "./lib/systemd/system/herald.service",
    "./usr/share/doc/herald/operations.md", "./usr/share/herald/grafana/herald.json",
    "./usr/share/herald/admin-ui/index.html"])
    assert.ok(files.includes(file), `${file} in ${deb}:\n${files.join("\n")}`);
  assert.deepEqual(files.filter((f) => /\/include\/|\.a$|cmake|pkgconfig/.test(f)), [], "no headers or library files");
  const ui = files.filter((f) => f.startsWith("./usr/share/herald/admin-ui/"));
  assert.ok(ui.some((f) => /\/js\/app\.[0-9a-f]+\.js$/.test(f)), `the Admin UI's script in ${ui}`);
  assert.deepEqual(ui.filter((f) => f.endsWith(".map")), [], "no source maps");
});

it("has its control fields, dependencies from dpkg-shlibdeps, and the configuration as a conffile", async () => {
  const { stdout } = await sh("dpkg-deb", ["-f", deb, "Package", "Version", "Architecture", "Depends"]);
  assert.match(stdout, /^Package: herald$/m);
  assert.match(stdout, /^Version: \d+\.\d+\.\d+$/m);
  assert.match(stdout, /^Depends: .*libsystemd0/m);
  assert.match(stdout, /^Depends: .*libssl3/m);
  assert.equal(fs.readFileSync(path.join(root, "DEBIAN/conffiles"), "utf8").trim(), "/etc/herald/herald.toml");
  for (const script of ["postinst", "prerm", "postrm"])
    assert.ok(fs.statSync(path.join(root, "DEBIAN", script)).mode & 0o100, `${script} is executable`);
});

it("runs: the unpacked herald prints its version, and the shipped herald.toml is its --print-config", async () => {
  const herald = path.join(root, "usr/bin/herald");
  const { stdout } = await sh(herald, ["--version"]);
  assert.match(stdout.trim(), /^herald \d+\.\d+\.\d+ \(build .+\)$/);
  assert.equal(stdout, (await sh(path.join(BUILD, "herald"), ["--version"])).stdout);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  assert.equal(fs.readFileSync(path.join(root, "etc/herald/herald.toml"), "utf8"), (await sh(herald, ["--print-config"], { env })).stdout);
  const bench = await run(path.join(root, "usr/bin/herald-bench"), ["--help"]).catch((e) => e);
  assert.match(bench.stdout, /connect/);
});

it("serves the Admin UI's page from /usr/share/herald/admin-ui beside the unpacked herald", async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  const child = spawn(path.join(root, "usr/bin/herald"),
    ["--host", "127.0.0.1", "--port", "0", "--threads", "1", "--admin-ui", "true", "--admin-user", "a", "--admin-password", "b"],
    { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const found = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 10_000);
    const read = (data) => {
      output += data;
      const match = /admin UI page at \/admin\/ \((\d+) files from (.+)\)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
  });
  child.kill("SIGKILL");
  assert.ok(found, `the page's log line in:\n${output}`);
  assert.equal(found[2], path.join(root, "usr/share/herald/admin-ui"));
  assert.ok(Number(found[1]) >= 5, `${found[1]} files`);
});

it("has a systemd unit that systemd-analyze verify accepts", async () => {
  const unit = fs.readFileSync(path.join(root, "lib/systemd/system/herald.service"), "utf8");
  for (const line of ["Type=notify", "ExecStart=/usr/bin/herald --config /etc/herald/herald.toml", "ExecReload=/bin/kill -HUP $MAINPID",
    "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "LimitNOFILE=1048576"])
    assert.ok(unit.split("\n").includes(line), `${line} in the unit`);
  // verify --root resolves everything under the root: the unpacked package, plus the targets the
  // unit's dependencies pull in and the kill of ExecReload, copied from this machine.
  fs.mkdirSync(path.join(root, "bin"), { recursive: true });
  fs.copyFileSync("/bin/kill", path.join(root, "bin/kill"));
  fs.chmodSync(path.join(root, "bin/kill"), 0o755);
  for (const target of fs.readdirSync("/lib/systemd/system").filter((f) => f.endsWith(".target"))) {
    try {
      fs.copyFileSync(path.join("/lib/systemd/system", target), path.join(root, "lib/systemd/system", target));
    } catch {
      // a dangling alias: nothing the unit needs
    }
  }
  const result = await run("systemd-analyze", ["verify", "--man=no", `--root=${root}`, "herald.service"]).catch((e) => e);
  assert.equal(result.code ?? 0, 0, `systemd-analyze verify:\n${result.stdout}${result.stderr}`);
  assert.equal(`${result.stdout}${result.stderr}`.trim(), "", "no warnings from systemd-analyze verify");
});
