"""Configuration of a department's issuer service, from environment variables (or CLI flags).

    HUREN_RPC_URLS            JSON-RPC endpoint(s), comma-separated (fail-over in order)
    HUREN_MANIFEST            deployment manifest (chain id + contract addresses)
    HUREN_ISSUER_DB           store URL (default sqlite:///huren-issuer.sqlite; postgresql://...)
    HUREN_ISSUER_KEYSTORE     the department's encrypted signing keystore
    HUREN_ISSUER_PASSPHRASE   its passphrase (or HUREN_ISSUER_PASSPHRASE_FILE: a file holding it)
    HUREN_ISSUER_SM2_KEYSTORE the department's 国密 SM2 document-signing keystore (same passphrase):
                              when set, certificates are sealed in crypto suite 2 (SM3 trees, SM2
                              signatures); the keystore above then only sends the chain transactions
    HUREN_FIELD_KEY           field-encryption key (or HUREN_FIELD_KEY_FILE)
    HUREN_ISSUER_CREDIT_CODE  the department's 统一社会信用代码
    HUREN_ISSUER_REGION       its GB/T 2260 code   } optional: read from the chain's issuer
    HUREN_ISSUER_NAME         its registered name  } registry when not given
    HUREN_BATCH_SIZE (1024)  HUREN_BATCH_MAX_AGE (2 s)  HUREN_CONFIRMATIONS (6)

Secrets are only ever read from the environment or files, never from command-line arguments
(visible to every user through `ps`), and never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.document import issuer_id as issuer_id_of
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.chain_link import ChainLink
from issuers.errors import ConfigError
from issuers.field_cipher import FieldCipher, key_text_from_env
from issuers.intake import Department, IntakeSpec
from issuers.service import IssuerService
from issuers.store import CertificateStore
from ledger.errors import KeystoreError, NodeUnavailable
from ledger.keystore import load_keystore, load_sm2_keystore
from ledger.manifest import Manifest
from ledger.rpc import RpcError

__all__ = ["DEFAULT_DB_URL", "IssuerConfig", "open_service", "open_worker"]

DEFAULT_DB_URL = "sqlite:///huren-issuer.sqlite"
PASSPHRASE_ENV = "HUREN_ISSUER_PASSPHRASE"


@dataclass(frozen=True)
class IssuerConfig:
    rpc_urls: tuple[str, ...] = ()
    manifest: Path | None = None
    db_url: str = DEFAULT_DB_URL
    keystore: Path | None = None
    sm2_keystore: Path | None = None
    credit_code: str | None = None
    region: int | None = None
    name: str | None = None
    policy: AnchorPolicy = field(default_factory=AnchorPolicy)
    passphrase_env: str = PASSPHRASE_ENV
    field_key_env: str = "HUREN_FIELD_KEY"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> IssuerConfig:
        """Read the HUREN_* variables; keyword overrides (CLI flags) win when not None."""
        env = os.environ if environ is None else environ

        def num(var: str, kind: type, default: object) -> object:
            raw = env.get(var)
            if raw in (None, ""):
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"环境变量{var}的值“{raw}”不是有效的数字", f"{var} is not a number") from None

        defaults = AnchorPolicy()
        policy = AnchorPolicy(
            batch_size=int(num("HUREN_BATCH_SIZE", int, defaults.batch_size)),  # type: ignore[call-overload]
            batch_max_age=float(num("HUREN_BATCH_MAX_AGE", float, defaults.batch_max_age)),  # type: ignore[arg-type]
            confirmations=int(num("HUREN_CONFIRMATIONS", int, defaults.confirmations)),  # type: ignore[call-overload]
        )
        urls = tuple(u.strip() for u in env.get("HUREN_RPC_URLS", "").split(",") if u.strip())
        region = num("HUREN_ISSUER_REGION", int, None)
        config = cls(
            rpc_urls=urls,
            manifest=Path(env["HUREN_MANIFEST"]) if env.get("HUREN_MANIFEST") else None,
            db_url=env.get("HUREN_ISSUER_DB") or DEFAULT_DB_URL,
            keystore=Path(env["HUREN_ISSUER_KEYSTORE"]) if env.get("HUREN_ISSUER_KEYSTORE") else None,
            sm2_keystore=Path(env["HUREN_ISSUER_SM2_KEYSTORE"]) if env.get("HUREN_ISSUER_SM2_KEYSTORE") else None,
            credit_code=env.get("HUREN_ISSUER_CREDIT_CODE") or None,
            region=region,  # type: ignore[arg-type]
            name=env.get("HUREN_ISSUER_NAME") or None,
            policy=policy,
        )
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        return replace(config, **given) if given else config  # type: ignore[arg-type]


def _require(value: object, what: str, var: str) -> None:
    if value in (None, "", ()):
        raise ConfigError(f"未配置{what}：请设置环境变量{var}或相应的命令行选项", f"{what} not configured: set {var}")


def open_service(config: IssuerConfig, *, workers: int = 0, environ: Mapping[str, str] | None = None,
                 check_authorisation: bool = True) -> IssuerService:
    """Build the department's service: decrypt its key, open the store, connect (lazily) to the chain.

    The chain is not needed to start or to issue; it is asked for the department's registered
    region/name (only if not configured) and authorised types (best effort).
    """
    env = os.environ if environ is None else environ
    _require(config.manifest, "部署清单（manifest）", "HUREN_MANIFEST")
    _require(config.keystore, "签名密钥库（keystore）", "HUREN_ISSUER_KEYSTORE")
    _require(config.credit_code, "发证部门统一社会信用代码", "HUREN_ISSUER_CREDIT_CODE")
    _require(config.rpc_urls, "链节点地址（RPC）", "HUREN_RPC_URLS")
    assert config.manifest is not None and config.keystore is not None and config.credit_code is not None
    try:
        manifest = Manifest.load(config.manifest)
    except ValueError as exc:
        raise ConfigError(f"无法读取部署清单{config.manifest}", str(exc)) from None
    passphrase = env.get(config.passphrase_env) or _file_secret(env, config.passphrase_env)
    if not passphrase:
        raise ConfigError(f"未配置签名密钥库口令：请设置环境变量{config.passphrase_env}或{config.passphrase_env}_FILE",
                          f"no keystore passphrase: set {config.passphrase_env}")
    try:
        account = load_keystore(config.keystore, passphrase)
    except KeystoreError as exc:
        raise ConfigError(f"无法解锁签名密钥库{config.keystore}：请检查{config.passphrase_env}", str(exc)) from None
    signing_key, suite = bytes(account.key), 1
    if config.sm2_keystore is not None:
        try:
            signing_key, suite = load_sm2_keystore(config.sm2_keystore, passphrase), 2
        except KeystoreError as exc:
            raise ConfigError(f"无法解锁国密签名密钥库{config.sm2_keystore}：请检查文件与{config.passphrase_env}",
                              str(exc)) from None
    field_key = key_text_from_env(config.field_key_env, env)
    chain = ChainLink.connect(config.rpc_urls, manifest, account)
    region, name = config.region, config.name
    if region is None or name is None:
        region, name = _registered(chain, config.credit_code, region, name)
    department = Department(config.credit_code, region, name)
    spec = IntakeSpec(department, signing_key, chain.domain, field_key, suite=suite)
    store = CertificateStore(config.db_url, FieldCipher.from_key_text(field_key))
    service = IssuerService(store, spec, chain, workers=workers)
    if check_authorisation:
        service.refresh_authorisation()
    return service


def open_worker(service: IssuerService, config: IssuerConfig) -> AnchorWorker:
    if service.chain is None:
        raise ConfigError("锚定需要链节点：请设置HUREN_RPC_URLS", "anchoring needs a chain")
    return AnchorWorker(service.store, service.chain, service.department.credit_code, config.policy)


def _file_secret(env: Mapping[str, str], var: str) -> str | None:
    path = env.get(f"{var}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"无法读取口令文件{path}：{exc.strerror}", f"cannot read {var}_FILE") from None


def _registered(chain: ChainLink, credit_code: str, region: int | None, name: str | None) -> tuple[int, str]:
    try:
        record = chain.huren.issuer(issuer_id_of(credit_code))
    except (NodeUnavailable, RpcError):
        raise ConfigError(
            "未配置发证部门的地区代码和名称（HUREN_ISSUER_REGION、HUREN_ISSUER_NAME），且链节点不可用，无法从链上读取",
            "department region/name not configured and the chain is unreachable",
        ) from None
    if record is None:
        raise ConfigError(f"发证部门{credit_code}未在链上登记", f"issuer {credit_code} is not registered on chain")
    return (region if region is not None else int(record["region"]), name if name is not None else str(record["name"]))
