// Learning-rate schedules: the released step schedule with its init-lr quirk (spec §6.3), cosine
// with warm-up, and config validation.
import { expect } from 'chai';
import { learningRate, parseSchedule, RELEASED_SCHEDULE } from '../../src/optim/schedule.js';

describe('learning-rate schedules', function () {
  it('schedule released: 1e-5 for epochs 1-59, 1e-6 in epoch 60', function () {
    expect(learningRate(RELEASED_SCHEDULE, 1)).to.equal(1e-5);
    expect(learningRate(RELEASED_SCHEDULE, 59)).to.equal(1e-5);
    expect(learningRate(RELEASED_SCHEDULE, 60)).to.be.closeTo(1e-6, 1e-20);
  });

  it('schedule step quirk: --init_lr only counts in epoch 1', function () {
    const s = { kind: 'step', lr: 3e-4, gamma: 0.1, stepSize: 60, quirk: true } as const;
    expect(learningRate(s, 1)).to.equal(3e-4);
    expect(learningRate(s, 2)).to.equal(1e-5);
    expect(learningRate({ ...s, quirk: false }, 2)).to.equal(3e-4);
  });

  it('schedule cosine: linear warm-up, then half a cosine down to minLr', function () {
    const s = { kind: 'cosine', lr: 1, minLr: 0.1, warmupSteps: 4, totalSteps: 14 } as const;
    expect(learningRate(s, 1, 0)).to.equal(0.25);
    expect(learningRate(s, 1, 3)).to.equal(1);
    expect(learningRate(s, 1, 4)).to.equal(1);
    expect(learningRate(s, 1, 9)).to.be.closeTo(0.55, 1e-12);
    expect(learningRate(s, 1, 14)).to.be.closeTo(0.1, 1e-12);
  });

  it('schedule: config errors name the field', function () {
    expect(parseSchedule({ kind: 'step', lr: 1e-5, gamma: 0.1, stepSize: 60 })).to.deep.include({ kind: 'step', stepSize: 60 });
    expect(() => parseSchedule({ kind: 'step', lr: 1e-5, gamma: 0.1, stepSize: 0 })).to.throw(/schedule.stepSize/);
    expect(() => parseSchedule({ kind: 'cosine', lr: 'x', totalSteps: 3 })).to.throw(/schedule.lr/);
    expect(() => parseSchedule({ kind: 'linear' })).to.throw(/schedule.kind/);
    expect(() => learningRate(RELEASED_SCHEDULE, 0)).to.throw(/epoch must be an integer >= 1/);
  });
});
