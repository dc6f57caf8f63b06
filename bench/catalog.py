"""Catalogue search benchmark: `python -m bench.catalog`.

Generates 10k and 100k synthetic procedures (Vietnamese names built from the
vocabulary of real ones), then measures the latency of one search call (count + first
page, as GET /api/catalog/procedures runs it) with and without diacritics, on SQLite
(FTS5) and PostgreSQL (tsvector + GIN), against a naive LIKE '%q%' scan over the same
folded columns in the same run. Prints one table. Bounded: ~2-3 minutes.

Environment: BENCH_DATABASE_URL (PostgreSQL; default the test database), BENCH_SIZES
(default "10000,100000"), BENCH_REPEAT (default 15 runs of each query).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.orm import Session

from harness.scratch import scratch_database
from services.catalog.app import MIGRATIONS
from services.catalog.folding import folded_text
from services.catalog.models import Agency, Field, Procedure, ProcedureAgency
from services.catalog.queries import ProcedureQuery, search_procedures
from services.core.bus import OutboxContext
from services.core.db import make_engine, make_session_factory
from services.core.migrate import upgrade

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))

VERBS = [
    "Cấp", "Cấp lại", "Cấp đổi", "Đăng ký", "Đăng ký lại", "Gia hạn", "Điều chỉnh",
    "Thu hồi", "Xác nhận", "Chứng thực", "Thẩm định", "Công nhận", "Phê duyệt", "Thông báo",
]  # fmt: skip
OBJECTS = [
    "khai sinh", "kết hôn", "khai tử", "giám hộ", "nhận cha, mẹ, con", "hộ kinh doanh",
    "giấy phép xây dựng", "giấy chứng nhận quyền sử dụng đất", "chứng chỉ hành nghề",
    "phiếu lý lịch tư pháp", "bản sao từ sổ gốc", "hợp đồng chuyển nhượng", "giấy phép lái xe",
    "giấy phép kinh doanh vận tải", "trợ cấp xã hội", "thẻ bảo hiểm y tế", "hộ chiếu phổ thông",
    "giấy phép môi trường", "giấy phép khai thác khoáng sản", "văn bằng bảo hộ",
    "cơ sở giáo dục mầm non", "trường trung học cơ sở", "giấy phép hoạt động khám chữa bệnh",
    "chứng nhận đủ điều kiện an toàn thực phẩm", "giấy phép bán lẻ rượu", "điểm kinh doanh",
    "hợp tác xã", "liên hiệp hợp tác xã", "doanh nghiệp tư nhân", "công ty cổ phần",
    "dự án đầu tư", "giấy phép lao động", "tổ chức hành nghề công chứng", "thừa phát lại",
    "đấu giá tài sản", "giấy phép thành lập quỹ", "hội có phạm vi hoạt động trong tỉnh",
    "di tích lịch sử văn hóa", "giấy phép tổ chức lễ hội", "nhà ở xã hội",
    "thuyền viên tàu cá", "tàu cá", "giống cây trồng", "thuốc bảo vệ thực vật", "phân bón",
    "chứng nhận kiểm dịch động vật", "cơ sở giết mổ", "trang trại chăn nuôi", "rừng sản xuất",
    "giấy phép khai thác nước dưới đất", "giấy phép xả thải", "đánh giá tác động môi trường",
    "chứng chỉ quy hoạch", "quy hoạch chi tiết tỷ lệ 1/500", "biển số nhà", "chung cư cũ",
    "đăng kiểm phương tiện", "bến thủy nội địa", "giấy phép vận tải quốc tế", "trạm dừng nghỉ",
    "học bổng chính sách", "văn bằng tốt nghiệp", "trung tâm ngoại ngữ tin học",
    "cơ sở giáo dục nghề nghiệp", "giấy phép xuất bản bản tin", "đài truyền thanh cơ sở",
    "trò chơi điện tử công cộng", "đại lý internet", "giấy phép bưu chính",
    "tần số vô tuyến điện", "nhà thuốc", "hành nghề dược", "trang thiết bị y tế",
    "phòng khám đa khoa", "cơ sở dịch vụ thẩm mỹ", "mỹ phẩm", "người có công với cách mạng",
    "liệt sĩ", "thương binh", "bảo hiểm thất nghiệp", "bảo hiểm xã hội tự nguyện",
    "giấy phép lao động cho người nước ngoài", "đưa người lao động đi làm việc ở nước ngoài",
    "cơ sở trợ giúp xã hội", "trẻ em có hoàn cảnh đặc biệt", "người cao tuổi",
    "tổ chức tôn giáo", "lễ hội tín ngưỡng", "thi đua khen thưởng", "danh hiệu nghệ nhân",
    "câu lạc bộ thể dục thể thao", "giải thi đấu thể thao", "cơ sở lưu trú du lịch",
    "hướng dẫn viên du lịch", "lữ hành nội địa", "quảng cáo ngoài trời", "karaoke vũ trường",
    "vật liệu nổ công nghiệp", "tiền chất thuốc nổ", "hóa chất công nghiệp", "điện lực",
    "công trình thủy lợi", "đê điều", "phòng cháy chữa cháy", "con dấu", "vũ khí thô sơ",
    "nhập quốc tịch Việt Nam", "thôi quốc tịch Việt Nam", "nuôi con nuôi trong nước",
    "trợ giúp pháp lý", "hòa giải thương mại", "trọng tài thương mại", "quản tài viên",
    "giám định tư pháp", "luật sư", "tư vấn pháp luật", "mua bán hàng hóa quốc tế",
    "xuất khẩu gạo", "kinh doanh khí", "cửa hàng xăng dầu", "chợ đầu mối", "siêu thị",
]  # fmt: skip
QUALIFIERS = [
    "cho công dân Việt Nam", "có yếu tố nước ngoài", "đối với nhà ở riêng lẻ", "tại cấp huyện",
    "tại cấp xã", "trong trường hợp bị mất", "do hết hạn", "cho tổ chức", "cho cá nhân",
    "thuộc thẩm quyền của Sở", "đối với công trình cấp II", "trực tuyến toàn trình",
    "cho người khuyết tật", "cho trẻ em dưới 6 tuổi", "ở khu vực biên giới", "",
]  # fmt: skip
DESCRIPTIONS = [
    "Người dân nộp hồ sơ trực tuyến hoặc tại Bộ phận Một cửa",
    "Cơ quan có thẩm quyền kiểm tra, xác minh và trả kết quả",
    "Hồ sơ gồm tờ khai theo mẫu và giấy tờ tùy thân",
    "Lệ phí được giảm khi nộp trực tuyến",
    "Kết quả được trả qua dịch vụ bưu chính công ích",
    "Thời hạn giải quyết tính theo ngày làm việc",
]  # fmt: skip
QUERIES = [
    ("đăng ký khai sinh", "dang ky khai sinh"),
    ("giấy phép xây dựng", "giay phep xay dung"),
    ("hộ kinh doanh", "ho kinh doanh"),
    ("lý lịch tư pháp", "ly lich tu phap"),
    ("chứng chỉ hành nghề", "chung chi hanh nghe"),
    ("khai thác khoáng sản", "khai thac khoang san"),
]


def generate(n: int, seed: int = 20) -> Iterator[dict[str, Any]]:
    """n synthetic procedures: real-sounding names, two-sentence descriptions."""
    rng = random.Random(seed)
    for i in range(n):
        name = " ".join(
            part
            for part in (rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(QUALIFIERS))
            if part
        )
        description = ". ".join(rng.sample(DESCRIPTIONS, 2)) + "."
        code = f"{1 + i // 1_000_000}.{i % 1_000_000:06d}"
        yield {"code": code, "name": name, "description": description}


@contextmanager
def database(kind: str) -> Iterator[Callable[[], Session]]:
    """A fresh migrated catalogue database: a temporary SQLite file or PostgreSQL schema."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, Path(tmp), PG_URL, "bench") as place,
    ):
        engine = make_engine(place.url, connect_args=place.connect_args)
        try:
            upgrade(MIGRATIONS, engine)
            yield make_session_factory(engine, outbox=OutboxContext(source="bench"))
        finally:
            engine.dispose()


def fill(sessions: Callable[[], Session], n: int) -> float:
    """Insert n procedures in bulk (rows, filter links, search index); seconds taken."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        session.add(Field(code="bench", name="Lĩnh vực thử"))
        session.add(Agency(code="000.00.00.H56", name="UBND tỉnh", level="province", province="38"))
        session.flush()
        batch: list[dict[str, Any]] = []
        for item in generate(n):
            batch.append(
                {
                    "code": item["code"],
                    "province": "38",
                    "name": item["name"],
                    "name_folded": folded_text(item["name"]),
                    "description_folded": folded_text(item["description"]),
                    "field_code": "bench",
                    "service_level": "full",
                    "version": 1,
                    "body": {"code": item["code"], "name": item["name"], "province": "38"},
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Procedure), batch)
                batch = []
        if batch:
            session.execute(insert(Procedure), batch)
        session.execute(
            insert(ProcedureAgency).from_select(
                ["procedure_id", "agency_code", "level"],
                select(Procedure.id, text("'000.00.00.H56'"), text("'province'")),
            )
        )
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                text(
                    "INSERT INTO procedure_fts(rowid, name, description, code, province) "
                    "SELECT id, name_folded, description_folded, code, province FROM procedure"
                )
            )
    with sessions() as session:
        bind = session.get_bind()
    # What autovacuum does in production: flush the GIN pending list, refresh statistics.
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[union-attr]
        if bind.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("VACUUM ANALYZE procedure"))
    return time.perf_counter() - started


def naive_search(session: Session, q: str) -> int:
    """The baseline: LIKE '%q%' over the folded columns, count plus the first page."""
    pattern = f"%{folded_text(q)}%"
    where = or_(Procedure.name_folded.like(pattern), Procedure.description_folded.like(pattern))
    total = session.scalar(select(func.count()).select_from(Procedure).where(where)) or 0
    list(session.scalars(select(Procedure).where(where).order_by(Procedure.code).limit(20)))
    return int(total)


def measure(call: Callable[[], int]) -> tuple[float, float, int]:
    call()  # warm the cache and the plan
    samples = []
    result = 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


def run() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for kind in ("sqlite", "postgresql"):
        for n in SIZES:
            with database(kind) as sessions:
                seconds = fill(sessions, n)
                print(f"# {kind} {n}: generated and indexed in {seconds:.1f} s", file=sys.stderr)
                with sessions() as session:
                    for label, pick in (("with diacritics", 0), ("without", 1)):
                        index: list[float] = []
                        index95: list[float] = []
                        naive: list[float] = []
                        naive95: list[float] = []
                        hits = 0
                        for pair in QUERIES:
                            q = pair[pick]
                            query = ProcedureQuery(q=q, per_page=20)
                            p50, p95, found = measure(
                                lambda query=query: search_procedures(session, query).total  # type: ignore[misc]
                            )
                            index.append(p50)
                            index95.append(p95)
                            hits += found
                            p50, p95, _ = measure(lambda q=q: naive_search(session, q))  # type: ignore[misc]
                            naive.append(p50)
                            naive95.append(p95)
                        rows.append(
                            (
                                kind,
                                n,
                                label,
                                statistics.median(index),
                                max(index95),
                                statistics.median(naive),
                                max(naive95),
                                hits // len(QUERIES),
                            )
                        )
    return rows


def main() -> None:
    started = time.perf_counter()
    rows = run()
    print(
        f"{'engine':<11}{'size':>8}  {'query':<16}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'LIKE p50':>10}{'LIKE p95':>10}{'speed-up p95':>14}{'avg hits':>10}"
    )
    for kind, n, label, p50, p95, n50, n95, hits in rows:
        print(
            f"{kind:<11}{n:>8}  {label:<16}{p50:>8.2f}{p95:>8.2f}"
            f"{n50:>10.2f}{n95:>10.2f}{n95 / p95:>13.1f}x{hits:>10}"
        )
    print(
        f"p95 is the worst per-query p95 over {len(QUERIES)} queries x {REPEAT} runs; "
        f"target p95 <= 10 ms at 100k. Total {time.perf_counter() - started:.0f} s."
    )


if __name__ == "__main__":
    main()
