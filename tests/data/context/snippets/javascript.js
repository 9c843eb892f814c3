import { formatDate } from "./dates.js";

export class Calendar {
  constructor(events) {
    this.events = events;
  }

  upcoming(now) {
    return this.events.filter((e) => e.start > now).map((e) => formatDate(e.start));
  }
}

const byStart = (a, b) => a.start - b.start;

export function sortEvents(events) {
  return [...events].sort(byStart);
}
