"""SignVerifyPlayground and ImportWizard."""

from kmslab.widgets import ImportWizard, SignVerifyPlayground


def test_tampered_message_fails_verification_inline(kms):
    playground = SignVerifyPlayground(kms)
    playground.new_key_button.click()
    playground.sign_button.click()
    playground.verify_button.click()
    assert "SignatureValid: True" in playground.result.value
    playground.tamper_button.click()
    assert playground.message.value != "Pay Bob 10 EUR"
    playground.verify_button.click()
    assert playground.error.code == "KMSInvalidSignatureException"
    assert playground.result.value == ""


def test_verify_before_sign_says_so(kms):
    playground = SignVerifyPlayground(kms)
    playground.verify_button.click()
    assert playground.error.shown


def test_import_wizard_steps_in_order(lab, kms):
    wizard = ImportWizard(kms)
    assert [b.disabled for b in wizard.buttons] == [False, True, True, True, True]
    wizard.buttons[0].click()
    assert kms.describe_key(KeyId=wizard.key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    wizard.buttons[1].click()
    wizard.buttons[2].click()
    wizard.expires.value = True
    wizard.valid_days.value = 10
    wizard.buttons[3].click()
    wizard.buttons[4].click()
    assert not wizard.error.shown, wizard.error.value
    assert "Enabled" in wizard.outputs[4].value
    assert kms.describe_key(KeyId=wizard.key_id)["KeyMetadata"]["ValidTo"] == \
        lab.clock.now().replace(microsecond=0) + __import__("datetime").timedelta(days=10)


def test_import_wizard_steps_cannot_be_skipped(kms):
    wizard = ImportWizard(kms)
    wizard.create_key()
    assert not wizard.wrap()
    assert wizard.error.shown
