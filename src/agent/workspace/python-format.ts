/**
 * Number formatting as the reference's Python prints it, for the messages researchers read. Only for values that
 * are exact binary fractions (byte counts divided by powers of 1024), where a halfway case is a true tie, which
 * Python rounds to even and JavaScript's toFixed rounds up.
 */

/** `round(value, 2) * 100` as an integer, ties to even. */
function hundredthsHalfEven(value: number): number {
  const scaled = value * 100;
  const floor = Math.floor(scaled);
  const fraction = scaled - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
}

/** `repr(round(value, 2))`: `1.0`, `0.5`, `16.21`. */
export function pythonRound2Repr(value: number): string {
  const text = String(hundredthsHalfEven(value) / 100);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** `f"{value:.2f}"`: `0.01`, `4.00`. */
export function pythonFixed2(value: number): string {
  const hundredths = hundredthsHalfEven(value);
  const sign = hundredths < 0 ? "-" : "";
  const abs = Math.abs(hundredths);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
