// A waiting page's count of its OPD's queue, from snapshots and the `queue` frames' changes,
// counting every change exactly once (docs/waiting-room.md, "Counting each change once").
//
// Each change of an OPD's waiting line carries the OPD's revision, and a snapshot says up to
// which revision it already counts. The socket listens before it reads its snapshot, so a
// change may arrive after the snapshot that already contains it, and a change newer than the
// snapshot may arrive before it. So the page keeps the changes it received and, on each
// snapshot, applies again only those newer than the snapshot. No DOM here: tests run it in
// Node (tests/queues/test_queue_line_js.py).

// Changes kept since the last snapshot. Pages resync every 30 s; an OPD does not see
// thousands of changes in that time.
const KEEP = 2000;

export class QueueLine {
  constructor() {
    this.revision = null; // what the latest snapshot counts (null: no snapshot yet)
    this.key = null; // this ticket's place: [priority, seq]
    this.position = null; // 1 for the next patient; null when not waiting
    this.waiting = 0;
    this.changes = new Map(); // revision -> [op, priority, seq], newer than the snapshot
  }

  // A snapshot (socket or polling fallback): its figures, then what arrived after it.
  snapshot({ revision, key, position, waiting }) {
    this.revision = Number.isInteger(revision) ? revision : null;
    this.key = key;
    this.position = position;
    this.waiting = waiting;
    for (const [number, change] of this.changes) {
      if (this.revision !== null && number <= this.revision) this.changes.delete(number);
      else this.apply(change);
    }
  }

  // A `queue` frame's changes: [op, priority, seq, revision], each counted once.
  receive(changes) {
    for (const [op, priority, seq, number] of changes) {
      if (!Number.isInteger(number)) {
        this.apply([op, priority, seq]); // a server without revisions: nothing to compare
        continue;
      }
      if (this.revision !== null && number <= this.revision) continue; // in the snapshot
      if (this.changes.has(number)) continue; // a duplicate
      this.changes.set(number, [op, priority, seq]);
      if (this.revision !== null) this.apply([op, priority, seq]);
    }
    this.forgetOldest();
  }

  // Some change between the snapshot and the newest one received has not arrived (yet):
  // changes of one OPD are numbered without gaps. One that stays missing was lost.
  hasGap() {
    if (this.revision === null || this.changes.size === 0) return false;
    return Math.max(...this.changes.keys()) - this.revision > this.changes.size;
  }

  apply([op, priority, seq]) {
    const delta = op === "+" ? 1 : -1;
    this.waiting = Math.max(0, this.waiting + delta);
    if (this.position !== null && this.key && this.ahead(priority, seq)) {
      this.position = Math.max(1, this.position + delta);
    }
  }

  ahead(priority, seq) {
    const [myPriority, mySeq] = this.key;
    return priority > myPriority || (priority === myPriority && seq < mySeq);
  }

  forgetOldest() {
    if (this.revision === null || this.changes.size <= KEEP) return;
    const numbers = [...this.changes.keys()].sort((a, b) => a - b);
    for (const number of numbers.slice(0, this.changes.size - KEEP)) {
      this.changes.delete(number);
      this.revision = Math.max(this.revision, number); // counted already: as if snapshotted
    }
  }
}
