/** How Python prints numbers: `repr()` of ints and floats, and the rounded forms the agent's messages use. */

/** Python's `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the same shortest digits as Python's repr.
  const [mantissa = "", exponentText = "0"] = x.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exponent < 0 ? "-" : "+";
    return `${sign}${digits[0]}${rest}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const point = exponent + 1;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Python's `repr(int)` for a bigint or an integral JS number (exact digits past 2**53, where String() has e+). */
export function pyIntRepr(n: number | bigint): string {
  return typeof n === "bigint" || Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

/*
 * The rounded forms below are only for values that are exact binary fractions (byte counts divided by powers of
 * 1024), where a halfway case is a true tie, which Python rounds to even and JavaScript's toFixed rounds up.
 */

/** `round(value, 2) * 100` as an integer, ties to even. */
function hundredthsHalfEven(value: number): number {
  const scaled = value * 100;
  const floor = Math.floor(scaled);
  const fraction = scaled - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
}

/** `repr(round(value, 2))`: `1.0`, `0.5`, `16.21`. */
export function pyRound2Repr(value: number): string {
  return pyFloatRepr(hundredthsHalfEven(value) / 100);
}

/** `f"{value:.2f}"`: `0.01`, `4.00`. */
export function pyFixed2(value: number): string {
  const hundredths = hundredthsHalfEven(value);
  const sign = hundredths < 0 ? "-" : "";
  const abs = Math.abs(hundredths);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
