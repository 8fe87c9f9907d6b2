"""The world around KMS: the backing stores and services a lab simulates beside it.

* :mod:`.cloudhsm` - CloudHSM clusters (the HSMs behind a CloudHSM key store)
* :mod:`.xks` - external key store proxies and the key managers behind them
* :mod:`.s3` - an integrated service that encrypts objects with KMS for you
"""
