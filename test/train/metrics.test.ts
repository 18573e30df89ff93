// Per-AU F1 / accuracy as spec §6.4 defines them, on hand-counted examples; fold aggregation;
// the all-positive baseline; masks and input errors.
import { expect } from 'chai';
import { aggregateFolds, MetricAccumulator, metricsFromCounts } from '../../src/train/metrics.js';

describe('metrics', function () {
  it('metrics: counts, precision, recall, F1 and accuracy per AU match hand counts', function () {
    const acc = new MetricAccumulator(2);
    // AU 0: preds 1,1,0,0 vs labels 1,0,1,0 -> TP 1 FP 1 FN 1 TN 1; AU 1: preds 1,0,1,1 vs 1,0,1,1
    acc.add([0.9, 0.6, 0.7, 0.1, 0.2, 0.8, 0.4, 0.5], [1, 1, 0, 0, 1, 1, 0, 1]);
    const m = acc.compute();
    expect(m.perAU[0]).to.include({ tp: 1, fp: 1, fn: 1, tn: 1 });
    expect(m.perAU[0]!.f1).to.be.closeTo(0.5, 1e-12);
    expect(m.perAU[0]!.accuracy).to.equal(0.5);
    expect(m.perAU[1]).to.include({ tp: 3, fp: 0, fn: 0, tn: 1 });
    expect(m.perAU[1]!.f1).to.be.closeTo(1, 1e-12);
    expect(m.meanF1).to.be.closeTo(0.75, 1e-12);
    // threshold: P = 0.5 counts as active (>=)
    expect(m.perAU[1]!.tp).to.equal(3);
  });

  it('metrics: an AU never predicted positive has F1 0, not NaN (the 1e-20 terms)', function () {
    const m = metricsFromCounts([{ tp: 0, fp: 0, fn: 5, tn: 5 }]);
    expect(m.perAU[0]!.f1).to.equal(0);
    expect(m.perAU[0]!.precision).to.equal(0);
  });

  it('metrics: the all-positive predictor F1 is 2r/(1+r)', function () {
    const acc = new MetricAccumulator(1);
    acc.add([1, 1, 1, 1, 1], [1, 0, 0, 0, 1]);
    const m = acc.compute();
    expect(m.perAU[0]!.f1).to.be.closeTo((2 * 0.4) / 1.4, 1e-12);
    expect(m.perAU[0]!.trivialF1).to.be.closeTo((2 * 0.4) / 1.4, 1e-12);
  });

  it('metrics: masked entries are left out', function () {
    const acc = new MetricAccumulator(1);
    acc.add([0.9, 0.9, 0.1], [1, 0, 0], [1, 0, 1]);
    expect(acc.compute().perAU[0]).to.include({ tp: 1, fp: 0, tn: 1, fn: 0 });
  });

  it('metrics: folds are averaged per AU and on the mean', function () {
    const a = metricsFromCounts([{ tp: 1, fp: 1, fn: 1, tn: 1 }]);
    const b = metricsFromCounts([{ tp: 2, fp: 0, fn: 0, tn: 2 }]);
    const m = aggregateFolds([a, b]);
    expect(m.perAU[0]!.f1).to.be.closeTo(0.75, 1e-12);
    expect(m.meanAccuracy).to.be.closeTo(0.75, 1e-12);
    expect(() => aggregateFolds([])).to.throw(/no folds/);
  });

  it('metrics: bad input names the row and AU', function () {
    const acc = new MetricAccumulator(2);
    expect(() => acc.add([0.5, 0.5, 0.5], [1, 0, 1])).to.throw(/n x 2/);
    expect(() => acc.add([0.5, 0.5], [1, 9])).to.throw(/label 9 at row 0, AU 1/);
    expect(() => acc.add([NaN, 0.5], [1, 0])).to.throw(/row 0, AU 0 is NaN/);
    expect(() => new MetricAccumulator(0)).to.throw(/positive integer/);
  });
});
