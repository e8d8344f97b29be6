"""A minimal Jupyter-widgets frontend for protocol tests: it keeps every widget model the kernel
opens (comm_open on target jupyter.widget), applies the kernel's state updates, and sends the
messages a browser sends (state updates, button clicks) on the shell channel."""
import queue
import time


class Frontend:
    def __init__(self, kc):
        self.kc = kc
        self.models = {}  # comm id -> state dict
        self.updates = []  # (comm id, state) in arrival order
        self.log = []

    def pump(self, seconds=0.2, until=None):
        """Reads iopub for up to `seconds` (or until `until()` is true); returns until()'s value."""
        deadline = time.monotonic() + seconds
        while True:
            if until is not None and until():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return until() if until is not None else None
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            self.take(msg)

    def take(self, msg):
        kind, content = msg["msg_type"], msg["content"]
        self.log.append(msg)
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            assert msg["metadata"].get("version", "").startswith("2."), msg["metadata"]
            self.models[content["comm_id"]] = dict(content["data"]["state"])
        elif kind == "comm_msg" and content["comm_id"] in self.models:
            data = content["data"]
            if data.get("method") == "update":
                self.models[content["comm_id"]].update(data["state"])
                self.updates.append((content["comm_id"], data["state"]))
        elif kind == "comm_close":
            self.models.pop(content["comm_id"], None)

    def find(self, model, **attrs):
        """Ids of models of `model` (e.g. "DropdownModel") whose attributes equal `attrs`."""
        return [i for i, s in self.models.items()
                if s.get("_model_name") == model and all(s.get(k) == v for k, v in attrs.items())]

    def one(self, model, **attrs):
        found = self.find(model, **attrs)
        assert len(found) == 1, (model, attrs, found)
        return found[0]

    def state(self, comm_id):
        return self.models[comm_id]

    def children(self, comm_id):
        return [c.removeprefix("IPY_MODEL_") for c in self.models[comm_id].get("children", [])]

    def descendants(self, comm_id):
        out = []
        for child in self.children(comm_id):
            out.append(child)
            if child in self.models:
                out.extend(self.descendants(child))
        return out

    def send(self, comm_id, data):
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.session.send(self.kc.shell_channel.socket, msg)

    def set(self, comm_id, **state):
        """What a browser sends when a person edits a widget."""
        self.models[comm_id].update(state)
        self.send(comm_id, {"method": "update", "state": state, "buffer_paths": []})

    def click(self, comm_id):
        self.send(comm_id, {"method": "custom", "content": {"event": "click"}})
