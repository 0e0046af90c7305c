// The call's chat: messages from both sides, each shown once (the room frame repeats the
// history after every reconnection), and the form that sends one.

export class Chat {
  // list: the <ol> of messages (those the server rendered are already known); side: this
  // side's name in the protocol; send(message): true when the frame went out.
  constructor({ list, side, strings, send, notice }) {
    Object.assign(this, { list, side, strings, send, notice });
    this.seen = new Set();
    for (const item of list.querySelectorAll("[data-id]")) this.seen.add(item.dataset.id);
  }

  add(message) {
    if (!message.id || this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const item = document.createElement("li");
    const mine = message.side === this.side;
    item.className = `chat-message chat-${mine ? "mine" : "theirs"}`;
    item.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.textContent = mine ? this.strings.you : this.strings.peer_name;
    const time = document.createElement("time");
    time.dateTime = message.sent_at;
    time.textContent = new Date(message.sent_at).toLocaleTimeString(document.documentElement.lang, {
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
      timeZone: "Asia/Kolkata",
    });
    const text = document.createElement("p");
    text.textContent = message.text;
    item.append(who, " ", time, text);
    this.list.append(item);
    this.list.scrollTop = this.list.scrollHeight;
  }

  submit(event) {
    event.preventDefault();
    const input = event.currentTarget.elements.text;
    const text = input.value.trim();
    if (!text) return;
    if (this.send({ type: "chat", text })) {
      input.value = "";
      this.notice("");
    } else {
      this.notice(this.strings.chat_failed);
    }
  }
}
