// The workspace's router: a room when the address names one (?room=...), otherwise the
// team space's directory (?space=..., "team" by default). The notification bell runs on
// both.
import "./style.css";
import { startInbox } from "./inbox.js";

startInbox();
const room = new URLSearchParams(location.search).get("room")?.trim();
await (room ? import("./room-page.js") : import("./home.js"));
