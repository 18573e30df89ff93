/**
 * Label profiles of the synthetic AU benchmark: which AUs each dataset codes, their target occurrence
 * rates, and the latent factors that make AUs co-occur.
 */

/** Every AU the renderer can show, in this order everywhere in src/data/synth. */
export const ALL_AUS = [1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 23, 24, 25, 26] as const;
export type Au = (typeof ALL_AUS)[number];

export type SynthProfileName = 'bp4d' | 'disfa' | 'gft' | 'affwild2';
export const PROFILE_NAMES: readonly SynthProfileName[] = ['bp4d', 'disfa', 'gft', 'affwild2'];

/**
 * Occurrence rates (%) of the AUs in the training sets, copied from Table I of the AUNCE paper
 * (shared/paper/AUNCE_paper.txt, section IV-A1; the table the paper cites for class imbalance).
 * A missing entry means the dataset does not code that AU. The AU sets agree with DATASETS.md.
 */
export const TABLE_I: Record<SynthProfileName, Partial<Record<Au, number>>> = {
  bp4d: { 1: 21.1, 2: 17.1, 4: 20.3, 6: 46.2, 7: 54.9, 10: 59.4, 12: 56.2, 14: 46.6, 15: 16.9, 17: 34.4, 23: 16.5, 24: 15.2 },
  disfa: { 1: 5.0, 2: 4.0, 4: 15.0, 6: 8.1, 9: 4.3, 12: 13.2, 25: 27.8, 26: 8.9 },
  gft: { 1: 3.7, 2: 13.5, 4: 3.7, 6: 28.3, 10: 24.6, 12: 29.3, 14: 3.1, 15: 10.7, 23: 25.0, 24: 14.1 },
  affwild2: { 1: 11.9, 2: 5.1, 4: 16.0, 6: 26.5, 7: 39.9, 10: 34.5, 12: 24.3, 15: 2.8, 23: 3.1, 24: 2.8, 25: 62.8, 26: 7.6 },
};

/** The AUs a profile labels, in ascending order (the label order of its native dataset). */
export function profileAus(profile: SynthProfileName): number[] {
  const t = TABLE_I[profile];
  if (!t) throw new RangeError(`synth: unknown profile '${profile}' (expected one of ${PROFILE_NAMES.join(', ')})`);
  return ALL_AUS.filter((a) => t[a] !== undefined);
}

/**
 * Rate (fraction) of every renderable AU under a profile: Table I for the labelled AUs; an AU the
 * profile does not code still happens on the faces (as it does in the real recordings), at the mean of
 * its rates in the other datasets.
 */
export function profileRates(profile: SynthProfileName): Float64Array {
  profileAus(profile);
  return Float64Array.from(ALL_AUS, (a) => {
    const own = TABLE_I[profile][a];
    if (own !== undefined) return own / 100;
    const others = PROFILE_NAMES.map((p) => TABLE_I[p][a]).filter((r): r is number => r !== undefined);
    return others.reduce((s, r) => s + r, 0) / others.length / 100;
  });
}

/**
 * Loadings of each AU's latent activation on five shared, slowly varying factors. AUs that load on
 * the same factor co-occur: enjoyment (AU6, AU7, AU10, AU12, AU25), surprise (AU1, AU2, AU26),
 * negative affect (AU4, AU7, AU9, AU15, AU17, AU23, AU24), speech / mouth opening (AU25, AU26, AU10)
 * and lip control (AU14, AU15, AU17, AU23, AU24). Each row's squared norm stays below
 * 1 - SUBJECT_VARIANCE; the rest of the variance is the AU's own process.
 */
export const FACTOR_LOADINGS: Record<Au, readonly [number, number, number, number, number]> = {
  1: [0, 0.8, 0, 0, 0],
  2: [0, 0.8, 0, 0, 0],
  4: [-0.2, -0.2, 0.65, 0, 0],
  6: [0.85, 0, 0, 0, 0],
  7: [0.55, 0, 0.35, 0, 0],
  9: [0, 0, 0.6, 0, 0],
  10: [0.6, 0, 0.2, 0.2, 0],
  12: [0.85, 0, -0.15, 0, 0],
  14: [0.35, 0, 0, 0, 0.5],
  15: [-0.2, 0, 0.35, 0, 0.5],
  17: [0, 0, 0.4, -0.2, 0.55],
  23: [0, 0, 0.35, -0.2, 0.55],
  24: [0, 0, 0.3, -0.3, 0.55],
  25: [0.3, 0.2, 0, 0.75, 0],
  26: [0, 0.15, 0, 0.8, 0],
};
export const FACTORS = 5;
/** share of each AU's latent variance that is a per-subject offset (some people smile more) */
export const SUBJECT_VARIANCE = 0.06;
/** lag-1 autocorrelation of the shared factors and of each AU's own process (per frame) */
export const FACTOR_RHO = 0.96;
export const OWN_RHO = 0.9;
