"""PolicySimulator: would this principal be allowed this action on this key, and why?

Asks ``lab.explain(principal, action, key, context)``, which evaluates the
key policy, IAM policies and grants the way KMS does (explicit deny, then
allow, else implicit deny) without making a request. The key policy can be
edited in place: "Apply" sends PutKeyPolicy (AWS's errors, such as
MalformedPolicyDocumentException, appear inline) and evaluates again. The
verdict names the statement, rule or grant that decided; the widget's own
reads (ListKeys, ListAliases, GetKeyPolicy) carry the user agent
``kmslab-widgets/PolicySimulator``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ._base import (
    ErrorBox,
    client_of,
    key_labels,
    list_all_keys,
    note_html,
    parse_context,
    supports,
    widget_client,
)

__all__ = ["PolicySimulator"]

ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
           "kms:ReEncryptTo", "kms:DescribeKey", "kms:Sign", "kms:Verify", "kms:GetPublicKey",
           "kms:GenerateMac", "kms:CreateGrant", "kms:EnableKey", "kms:DisableKey",
           "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation",
           "kms:CreateAlias")

#: how an explanation is shown: long lines wrap inside the widget instead of running off its edge
_WRAP = ("white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;max-width:100%;"
         "margin:0;font-family:monospace;font-size:12px;line-height:1.45")


def _step_name(step) -> str:
    """Which policy statement or grant a decision step is, in words."""
    grant = getattr(step, "grant", None)
    if grant is not None:
        name = f' ("{grant.name}")' if grant.name else ""
        return f"grant {grant.grant_id[:12]}…{name}"
    return f"{step.source}, {step.statement.label}"


def verdict_text(decision) -> str:
    """``Allow by key policy, Sid "..."``, ``Deny (explicit) by ...`` or ``Deny (implicit)...``."""
    deciders = " and ".join(_step_name(step) for step in decision.decided_by)
    if decision.allowed:
        return f"Allow by {deciders}" if deciders else "Allow"
    if decision.outcome == "ExplicitDeny":
        return f"Deny (explicit) by {deciders}" if deciders else "Deny (explicit)"
    return "Deny (implicit): no statement or grant allows it"


class PolicySimulator(widgets.VBox):
    """Pick a principal, action, key and encryption context; see Allow or Deny and why."""

    def __init__(self, lab):
        self.lab = lab
        self.client = client_of(lab)
        self.reader = widget_client(lab, "PolicySimulator")
        self.principal = widgets.Dropdown(description="Principal",
                                          layout=widgets.Layout(width="460px"))
        self.action = widgets.Dropdown(description="Action", options=ACTIONS, value="kms:Encrypt")
        self.key = widgets.Dropdown(description="Key")
        self.context = widgets.Text(description="Context", placeholder="k=v, k2=v2")
        self.evaluate_button = widgets.Button(description="Evaluate", button_style="primary")
        self.verdict = widgets.HTML()
        self.explanation = widgets.HTML()
        self.error = ErrorBox()
        self.policy = widgets.Textarea(description="Key policy",
                                       layout=widgets.Layout(width="95%", max_width="760px",
                                                             height="260px"))
        self.apply_button = widgets.Button(description="Apply", tooltip="PutKeyPolicy")
        self.reload_button = widgets.Button(description="Reload", tooltip="GetKeyPolicy")
        self.status = widgets.HTML()

        self.evaluate_button.on_click(lambda _: self.evaluate())
        self.apply_button.on_click(lambda _: self.apply_policy())
        self.reload_button.on_click(lambda _: self.load_policy())
        self.key.observe(lambda _: self.load_policy(), "value")
        super().__init__([
            widgets.HTML("<b>Policy simulator</b>"),
            self.principal, widgets.HBox([self.action, self.key]), self.context,
            self.evaluate_button, self.verdict, self.explanation, self.error,
            self.policy, widgets.HBox([self.apply_button, self.reload_button]), self.status])
        self.add_class("kmslab-policy-simulator")
        self.refresh()

    def __repr__(self) -> str:
        return f"<PolicySimulator: {len(self.key.options)} keys>"

    # ------------------------------------------------------------ choices
    def _principals(self) -> list[tuple[str, str]]:
        options = [("admin (IAM user)", "admin"), ("root (account)", "root")]
        iam = self.lab.client("iam")
        for user in iam.list_users().get("Users", []):
            if user["UserName"] != "admin":
                options.append((f"{user['UserName']} (IAM user)", user["Arn"]))
        roles = iam.list_roles().get("Roles", []) if supports(iam, "list_roles") else []
        for role in roles:
            options.append((f"{role['RoleName']} (IAM role)", role["Arn"]))
        return options

    def refresh(self) -> None:
        """Reload principals and keys (after adding users or keys)."""
        principal, key = self.principal.value, self.key.value
        self.principal.options = self._principals()
        if principal in [v for _, v in self.principal.options]:
            self.principal.value = principal
        self.key.options = key_labels(self.reader, list_all_keys(self.reader))
        ids = [v for _, v in self.key.options]
        if key in ids:
            self.key.value = key
        elif ids:
            self.key.value = ids[0]
        self.load_policy()

    def load_policy(self) -> None:
        """Show the selected key's policy (GetKeyPolicy)."""
        if not self.key.value:
            self.policy.value = ""
            return
        response = self.error.run(lambda: self.reader.get_key_policy(KeyId=self.key.value,
                                                                     PolicyName="default"))
        if response is not None:
            self.policy.value = response["Policy"]

    # ------------------------------------------------------------ actions
    def evaluate(self):
        """Explain the decision for the chosen request; returns the Decision (None on error)."""
        def explain():
            context = parse_context(self.context.value)
            return self.lab.explain(self.principal.value, self.action.value, self.key.value or None,
                                    context or None)

        decision = self.error.run(explain)
        if decision is None:
            self.verdict.value = self.explanation.value = ""
            return None
        color = "#1a7f37" if decision.allowed else "#cf222e"
        word, _, by = verdict_text(decision).partition(" ")
        self.verdict.value = (
            f"<div class='kmslab-verdict' style='white-space:normal;overflow-wrap:anywhere'>"
            f"<b style='font-size:120%;color:{color}'>{word}</b> {html.escape(by)}<br>"
            f"<span style='color:#555'>Why: {html.escape(decision.reason)}</span></div>")
        self.explanation.value = (f"<pre class='kmslab-explanation' style='{_WRAP}'>"
                                  f"{html.escape(decision.text())}</pre>")
        return decision

    def apply_policy(self) -> bool:
        """PutKeyPolicy with the editor's text, then evaluate again. True if it was accepted."""
        if not self.key.value:
            self.error.show(ValueError("select a key first"))
            return False
        result = self.error.run(lambda: self.client.put_key_policy(
            KeyId=self.key.value, PolicyName="default", Policy=self.policy.value))
        if result is None:
            self.status.value = ""
            return False
        self.status.value = note_html("PutKeyPolicy done")
        self.evaluate()
        return True
