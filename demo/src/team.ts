// The space's team on its home page: the shared agents (available, in use in a room, or
// scheduled for a task), a form to register one and one to schedule its next task; and
// the members with their roles, which a lead changes here. What a role may not do, the
// edge refuses with its reason, shown on the page.
import { ConfabError, type SharedAgent, type Space, type SpaceMember, type SpaceRoleLabel } from "confab-rooms";
import { whoRow } from "./who.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const ROLES: SpaceRoleLabel[] = ["lead", "contributor", "reviewer", "viewer"];

function reason(err: unknown): string {
  return err instanceof ConfabError ? `${err.message} (${err.code})` : String(err);
}

/** "today 09:00", "Tue 14:30" or a date, for when a task is due. */
function when(at: number): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const days = Math.floor((d.setHours(0, 0, 0, 0) - new Date().setHours(0, 0, 0, 0)) / 86_400_000);
  if (days === 0) return `today ${time}`;
  if (days === 1) return `tomorrow ${time}`;
  return `${new Date(at).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

/**
 * The schedule form's default time, as a `datetime-local` value: the next full hour
 * after `now`, or the one after that when the next is under five minutes away.
 */
function defaultWhen(now: number): string {
  const next = new Date(now + 3_600_000);
  next.setMinutes(0, 0, 0);
  if (next.getTime() - now < 5 * 60_000) next.setHours(next.getHours() + 1);
  const local = new Date(next.getTime() - next.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function repeatText(minutes: number | undefined): string {
  if (!minutes) return "";
  if (minutes === 60) return ", hourly";
  if (minutes === 1440) return ", daily";
  if (minutes === 10080) return ", weekly";
  return `, every ${minutes} min`;
}

/** An id for an agent from its name ("Research Scout" → "agent-research-scout"). */
function agentIdFor(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `agent-${slug || "helper"}`;
}

export class TeamPanels {
  readonly #space: Space;
  readonly #showError: (message: string | null) => void;

  constructor(space: Space, showError: (message: string | null) => void) {
    this.#space = space;
    this.#showError = showError;
    this.#wireForms();
  }

  /** Draw the agents, the members and the forms' choices from the space as it is now. */
  render(): void {
    this.#renderAgents();
    this.#renderMembers();
    this.#renderChoices();
  }

  #run(label: string, action: () => Promise<unknown>, control?: HTMLButtonElement): Promise<boolean> {
    if (control) control.disabled = true;
    return action()
      .then(() => {
        this.#showError(null);
        return true;
      })
      .catch((err: unknown) => {
        this.#showError(`${label}: ${reason(err)}`);
        return false;
      })
      .finally(() => {
        if (control) control.disabled = false;
      });
  }

  #agentRow(agent: SharedAgent): HTMLLIElement {
    const li = whoRow(agent.id, agent.name, { agent: true, state: agent.state });
    li.dataset.agent = agent.id;
    li.dataset.state = agent.state;
    const where = document.createElement("span");
    where.className = "where";
    const about = [agent.description, agent.model && `on ${agent.model}`].filter(Boolean).join(" · ");
    const doing =
      agent.state === "in use"
        ? [agent.activity, `in ${agent.rooms.join(", ")}`].filter(Boolean).join(" · ")
        : agent.schedule
          ? `next: “${agent.schedule.task}” ${when(agent.schedule.at)}${repeatText(agent.schedule.everyMinutes)}`
          : "";
    where.textContent = [doing, about].filter(Boolean).join(" — ") || (agent.registered ? "ready when asked" : "not registered with the space");
    li.append(where);
    if (agent.registered) {
      const actions = document.createElement("span");
      actions.className = "row-actions";
      if (agent.schedule) {
        const cancel = document.createElement("button");
        cancel.type = "button";
        cancel.className = "quiet small";
        cancel.textContent = "Cancel task";
        cancel.addEventListener("click", () => void this.#run("Cancel task", () => this.#space.unscheduleAgent(agent.id), cancel));
        actions.append(cancel);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "quiet small";
      remove.textContent = "Remove";
      remove.title = `Take ${agent.name} off the space's agents`;
      remove.addEventListener("click", () => {
        if (confirm(`Take ${agent.name} off this space's agents?`)) void this.#run("Remove agent", () => this.#space.removeAgent(agent.id), remove);
      });
      actions.append(remove);
      li.append(actions);
    }
    return li;
  }

  #renderAgents() {
    const agents = this.#space.agents;
    $<HTMLUListElement>("space-agents").replaceChildren(...agents.map((a) => this.#agentRow(a)));
    const inUse = agents.filter((a) => a.state === "in use").length;
    const count = $<HTMLSpanElement>("agents-count");
    count.textContent = String(agents.length);
    count.title = `${inUse} in use`;
    $<HTMLParagraphElement>("agents-empty").hidden = agents.length > 0;
  }

  #memberRow(member: SpaceMember): HTMLLIElement {
    const li = whoRow(member.id, member.name);
    li.dataset.user = member.id;
    const role = document.createElement("select");
    role.className = "role";
    role.setAttribute("aria-label", `${member.name}'s role`);
    for (const r of ROLES) role.append(new Option(r, r, false, r === member.label));
    role.addEventListener("change", () => {
      const next = role.value as SpaceRoleLabel;
      void this.#run(`Role for ${member.name}`, () => this.#space.setMember(member.id, next)).then((ok) => {
        if (!ok) role.value = member.label;
      });
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "quiet small";
    remove.textContent = "Remove";
    remove.title = `Remove ${member.name} from the space (leads only)`;
    remove.addEventListener("click", () => {
      if (confirm(`Remove ${member.name} from this space? Their links stop working until a lead adds them again.`))
        void this.#run("Remove member", () => this.#space.removeMember(member.id), remove);
    });
    li.append(role, remove);
    return li;
  }

  #renderMembers() {
    const members = this.#space.members;
    $<HTMLUListElement>("space-members").replaceChildren(...members.map((m) => this.#memberRow(m)));
    $<HTMLSpanElement>("members-count").textContent = String(members.length);
    $<HTMLParagraphElement>("members-empty").hidden = members.length > 0;
  }

  /** The schedule form's agents and rooms, keeping what is picked. */
  #renderChoices() {
    const fill = (select: HTMLSelectElement, options: [string, string][], none: string) => {
      const picked = select.value;
      select.replaceChildren(...(options.length ? options.map(([value, label]) => new Option(label, value)) : [new Option(none, "")]));
      if (options.some(([value]) => value === picked)) select.value = picked;
      select.disabled = options.length === 0;
    };
    fill($<HTMLSelectElement>("schedule-agent"), this.#space.agents.filter((a) => a.registered).map((a) => [a.id, a.name]), "register an agent first");
    fill(
      $<HTMLSelectElement>("schedule-room"),
      this.#space.rooms.filter((r) => !r.archived).map((r) => [r.name, r.title]),
      "make a room first",
    );
  }

  #wireForms() {
    const agentForm = $<HTMLFormElement>("agent-form");
    agentForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = $<HTMLInputElement>("agent-name").value.trim();
      if (!name) return;
      const description = $<HTMLInputElement>("agent-description").value.trim();
      const submit = agentForm.querySelector("button")!;
      void this.#run("Register agent", () => this.#space.registerAgent(agentIdFor(name), { name, description }), submit).then((ok) => {
        if (ok) agentForm.reset();
      });
    });
    const scheduleForm = $<HTMLFormElement>("schedule-form");
    const whenInput = $<HTMLInputElement>("schedule-when");
    // Until the person picks a time, the default follows the clock: a page left open
    // past the hour would otherwise offer a time that has gone.
    let whenPicked = false;
    whenInput.addEventListener("input", () => (whenPicked = true));
    whenInput.value = defaultWhen(Date.now());
    scheduleForm.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!whenPicked) whenInput.value = defaultWhen(Date.now());
      const agent = $<HTMLSelectElement>("schedule-agent").value;
      const room = $<HTMLSelectElement>("schedule-room").value;
      const task = $<HTMLInputElement>("schedule-task").value.trim();
      const at = new Date(whenInput.value).getTime();
      if (!agent || !room || !task) return;
      if (!Number.isFinite(at)) {
        this.#showError("Schedule: pick a day and time");
        return;
      }
      const every = Number($<HTMLSelectElement>("schedule-repeat").value) || undefined;
      const submit = scheduleForm.querySelector("button")!;
      void this.#run("Schedule", () => this.#space.scheduleAgent(agent, { room, task, at, ...(every ? { everyMinutes: every } : {}) }), submit).then((ok) => {
        if (ok) $<HTMLInputElement>("schedule-task").value = "";
      });
    });
    const memberForm = $<HTMLFormElement>("member-form");
    memberForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const user = $<HTMLInputElement>("member-id").value.trim();
      const role = $<HTMLSelectElement>("member-role").value as SpaceRoleLabel;
      if (!user) return;
      const submit = memberForm.querySelector("button")!;
      void this.#run("Add member", () => this.#space.setMember(user, role, user), submit).then((ok) => {
        if (ok) memberForm.reset();
      });
    });
  }
}
