// Where a wasm module's bytes go: the size of each function body, from the code
// section, grouped by the crate its name (from the name section) starts with, or by
// a pattern. The shipped module has no names, so build one that keeps them:
//
//   wasm-bindgen --target web --out-dir /tmp/named \
//     "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/confab_wasm.wasm"
//   node tests/bench/wasm-sizes.mjs /tmp/named/confab_wasm_bg.wasm            # by crate
//   node tests/bench/wasm-sizes.mjs /tmp/named/confab_wasm_bg.wasm 'sort::'  # by function
//
// See PROFILES.md, section 4.
import { readFileSync } from "node:fs";

/** Function body sizes and names of the module in `bytes`. */
export function functionSizes(bytes) {
  let pos = 8; // past the magic number and the version
  const u32 = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const skipLimits = () => {
    const flags = bytes[pos++];
    u32();
    if (flags & 1) u32();
  };
  let importedFunctions = 0;
  const bodies = [];
  const names = new Map();
  let dataBytes = 0;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 2) {
      // Imports: only imported functions shift the function index space.
      for (let n = u32(); n > 0; n--) {
        pos += u32(); // module
        pos += u32(); // field
        const kind = bytes[pos++];
        if (kind === 0) {
          u32();
          importedFunctions++;
        } else if (kind === 1) {
          pos++; // element type
          skipLimits();
        } else if (kind === 2) {
          skipLimits();
        } else if (kind === 3) {
          pos += 2; // value type, mutability
        } else {
          pos++; // a tag's attribute, then its type
          u32();
        }
      }
    } else if (id === 10) {
      for (let n = u32(); n > 0; n--) {
        const body = u32();
        bodies.push(body);
        pos += body;
      }
    } else if (id === 11) {
      dataBytes = size;
    } else if (id === 0) {
      const nameLength = u32();
      const section = bytes.toString("utf8", pos, pos + nameLength);
      pos += nameLength;
      while (section === "name" && pos < end) {
        const sub = bytes[pos++];
        const subSize = u32();
        const subEnd = pos + subSize;
        if (sub === 1) {
          for (let n = u32(); n > 0; n--) {
            const index = u32();
            const length = u32();
            names.set(index, bytes.toString("utf8", pos, pos + length));
            pos += length;
          }
        }
        pos = subEnd;
      }
    }
    pos = end;
  }
  const functions = bodies.map((size, i) => ({ size, name: names.get(i + importedFunctions) ?? "" }));
  return { functions, dataBytes, named: names.size > 0 };
}

/** The crate a (demangled) function name belongs to: `<yrs::X as core::Y>::f` is yrs's. */
export function crateOf(name) {
  const m = name.replace(/^<+/, "").match(/^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::/);
  if (m) return m[1];
  return name ? "(other)" : "(unnamed)";
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, pattern] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node tests/bench/wasm-sizes.mjs <module.wasm> [name pattern]");
    process.exit(2);
  }
  const { functions, dataBytes, named } = functionSizes(readFileSync(file));
  if (!named) {
    console.error(`${file} has no name section: build one that keeps it (see the top of this file)`);
    process.exit(1);
  }
  const kb = (n) => `${(n / 1000).toFixed(1)} KB`.padStart(10);
  const total = functions.reduce((n, f) => n + f.size, 0);
  console.log(`code ${kb(total).trim()} in ${functions.length} functions; data ${kb(dataBytes).trim()}`);
  const groups = new Map();
  const re = pattern ? new RegExp(pattern) : null;
  for (const f of functions) {
    if (re && !re.test(f.name)) continue;
    // By crate; with a pattern, by function (its hash and crate disambiguators dropped).
    const key = re ? f.name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]+\]/g, "") : crateOf(f.name);
    const g = groups.get(key) ?? { size: 0, count: 0 };
    g.size += f.size;
    g.count++;
    groups.set(key, g);
  }
  const rows = [...groups].sort((a, b) => b[1].size - a[1].size);
  if (re) {
    const sum = rows.reduce((n, [, g]) => n + g.size, 0);
    const count = rows.reduce((n, [, g]) => n + g.count, 0);
    console.log(`matching /${pattern}/: ${kb(sum).trim()} in ${count} functions`);
  }
  for (const [key, g] of rows.slice(0, 30)) console.log(`${kb(g.size)} ${String(g.count).padStart(5)}  ${key.slice(0, 120)}`);
}
