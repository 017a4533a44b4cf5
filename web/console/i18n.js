// The console in Vietnamese (default) and English. Texts use {0}, {1}…
// for values. A missing key shows itself, so a gap is seen, not hidden.

const KEY = 'care360.lang';

const vi = {
  signout: 'Đăng xuất', loading: 'Đang tải…', empty: 'Chưa có gì.', any: 'Tất cả', copy: 'Sao chép',
  create: 'Tạo', saved: 'Đã lưu.',
  unavailable: '{0}: máy chủ này chưa cung cấp chức năng này (cần {1}).',
  'forbidden.page': 'Vai trò {0} không được dùng trang này.',
  'login.title': 'Đăng nhập bảng điều khiển', 'login.help': 'Dán mã truy cập (token) do quản trị viên cấp. Mã chỉ được giữ trong thẻ trình duyệt này.',
  'login.token': 'Mã truy cập', 'login.go': 'Đăng nhập', 'login.bad': 'Mã không đúng hoặc đã bị vô hiệu hóa.',
  'role.admin': 'quản trị', 'role.marketer': 'tiếp thị', 'role.support': 'chăm sóc khách hàng', 'role.partner': 'đối tác',
  'nav.subscribers': 'Thuê bao', 'nav.emulator': 'Điện thoại thử', 'nav.campaigns': 'Chiến dịch SMS', 'nav.gifts': 'Quà tặng',
  'nav.offers': 'Ưu đãi', 'nav.draws': 'Bốc thăm', 'nav.spins': 'Quay số', 'nav.reports': 'Báo cáo', 'nav.audit': 'Nhật ký', 'nav.staff': 'Nhân viên',
  'sub.msisdn': 'Số thuê bao', 'sub.search': 'Tra cứu', 'sub.none': 'Không có thuê bao {0}.', 'sub.tier': 'Hạng', 'sub.status': 'Trạng thái',
  'sub.language': 'Ngôn ngữ', 'sub.birthday': 'Sinh nhật', 'sub.since': 'Hội viên từ', 'sub.dial': 'Gọi *090# với số này trên điện thoại thử →',
  'tier.dong': 'Đồng', 'tier.bac': 'Bạc', 'tier.titan': 'Titan', 'tier.vang': 'Vàng', 'tier.kim_cuong': 'Kim cương',
  'pts.spendable': 'Điểm khả dụng', 'pts.qualifying': 'Điểm xét hạng', 'pts.bonus': 'Điểm thưởng', 'pts.expiry': 'Sắp hết hạn',
  'adj.title': 'Điều chỉnh điểm', 'adj.points': 'Số điểm (âm để trừ)', 'adj.kind': 'Loại', 'adj.reason': 'Lý do', 'adj.go': 'Ghi sổ',
  'adj.help': 'Mọi điều chỉnh được ghi vào nhật ký cùng tên người thực hiện.', 'adj.insufficient': 'Không đủ điểm để trừ.',
  'ledger.title': 'Sổ điểm', 'ledger.when': 'Thời điểm', 'ledger.points': 'Điểm', 'ledger.kind': 'Loại', 'ledger.reason': 'Lý do', 'ledger.expires': 'Hết hạn',
  'msg.title': 'Tin nhắn đã gửi', 'msg.when': 'Lúc', 'msg.text': 'Nội dung', 'msg.status': 'Trạng thái',
  'status.queued': 'chờ gửi', 'status.held': 'tạm giữ (giờ yên lặng)', 'status.sending': 'đang gửi', 'status.submitted': 'đã gửi',
  'status.delivered': 'đã nhận', 'status.undeliverable': 'không chuyển được', 'status.expired': 'hết hạn', 'status.failed': 'lỗi',
  'emu.idle': 'Nhập *090# rồi bấm nút gọi.', 'emu.input': 'Nhập', 'emu.send': 'Gọi / Gửi', 'emu.end': 'Kết thúc',
  'emu.open': 'Đang trong phiên — nhập lựa chọn rồi bấm gửi.', 'emu.ended': 'Phiên đã kết thúc.', 'emu.sms': 'SMS đến số này',
  'camp.new': 'Chiến dịch mới', 'camp.name': 'Tên', 'camp.text': 'Nội dung (tiếng Việt)', 'camp.text_en': 'Nội dung tiếng Anh (không bắt buộc)',
  'camp.segment': 'Đối tượng (mọi điều kiện đã chọn đều phải thỏa)', 'camp.gender': 'Giới tính', 'camp.month': 'Tháng sinh',
  'camp.msisdns': 'Danh sách số (không bắt buộc)', 'camp.send': 'Tạo và gửi', 'camp.recent': 'Chiến dịch gần đây',
  'camp.rules': 'Tin quảng cáo chỉ gửi 07:00–22:00, tối đa theo hạn mức mỗi ngày, bỏ qua số đã từ chối (TC) hoặc trong danh sách không làm phiền.',
  'camp.created': 'Đã tạo chiến dịch #{0} cho {1} thuê bao.', 'camp.recipients': '{0} người nhận', 'camp.progress': 'Tiến độ',
  'camp.pause': 'Tạm dừng', 'camp.resume': 'Tiếp tục', 'camp.cancel': 'Hủy',
  'camp.status.running': 'đang chạy', 'camp.status.paused': 'tạm dừng', 'camp.status.cancelled': 'đã hủy', 'camp.status.done': 'đã gửi xong',
  'camp.more': 'Cũ hơn',
  'prog.delivered': 'Đã nhận', 'prog.sent': 'Đã gửi', 'prog.held': 'Tạm giữ', 'prog.queued': 'Chờ', 'prog.failed': 'Lỗi',
  'gender.f': 'Nữ', 'gender.m': 'Nam',
  'gift.id': '#', 'gift.name': 'Tên', 'gift.name_en': 'Tên tiếng Anh', 'gift.kind': 'Loại', 'gift.occasion': 'Dịp', 'gift.cost': 'Điểm',
  'gift.tiers': 'Hạng được nhận', 'gift.stock': 'Tồn kho', 'gift.claimed': 'Đã nhận', 'gift.limit': 'Giới hạn mỗi người', 'gift.from': 'Từ', 'gift.until': 'Đến',
  'gift.new': 'Quà mới', 'gift.create': 'Tạo quà', 'gift.created': 'Đã tạo quà #{0}.', 'gift.activate': 'Bật', 'gift.deactivate': 'Tắt',
  'gift.help': 'Quà theo dịp (sinh nhật, 8/3–20/10, Tết, nhóm) miễn phí; quà đổi điểm có giá. Voucher lấy mã từ kho mã bên dưới.',
  'occ.catalogue': 'Đổi điểm', 'occ.birthday': 'Sinh nhật', 'occ.womens_day': 'Ngày phụ nữ', 'occ.tet': 'Tết', 'occ.segment': 'Nhóm',
  'codes.title': 'Nạp mã voucher', 'codes.gift': 'Quà', 'codes.text': 'Mã, mỗi dòng một mã', 'codes.file': 'hoặc tệp CSV (cột code)',
  'codes.upload': 'Nạp mã', 'codes.done': 'Nhận {0} mã, trùng {1}, từ chối {2}.',
  'draw.close': 'Đóng', 'draw.run': 'Quay thưởng', 'draw.audit': 'Tải hồ sơ kiểm chứng', 'draw.witness': 'Giá trị chứng kiến (vd. kết quả xúc xắc)',
  'draw.winners': 'Đã chọn {0} người trúng thưởng.',
  'draw.cancel': 'Hủy', 'draw.cancel.ask': 'Hủy {0} và hoàn điểm cho mọi phiếu?', 'draw.refunded': 'Đã hủy: hoàn {0} điểm cho {1} phiếu.',
  'json.help': 'Nội dung JSON gửi tới {0}.', 'json.bad': 'JSON không hợp lệ.',
  'rep.from': 'Từ ngày', 'rep.to': 'Đến ngày', 'rep.show': 'Xem', 'rep.points': 'Điểm phát ra và đã dùng theo ngày',
  'rep.ussd': 'Lưu lượng USSD theo giờ', 'rep.claims': 'Quà đã nhận', 'rep.draws': 'Bốc thăm', 'rep.spins': 'Quay số', 'rep.sms': 'SMS gửi đi theo ngày',
  'rep.sms_kind': 'Loại', 'rep.sms_messages': 'Số tin', 'rep.sms_sent': 'Đã gửi', 'rep.sms_delivered': 'Đã nhận', 'rep.sms_failed': 'Lỗi', 'rep.sms_expired': 'Hết hạn',
  'rep.sms_totals': 'Tổng: {0} tin, đã gửi {1}, đã nhận {2}, lỗi {3}, hết hạn {4}.',
  'kind.transactional': 'Giao dịch', 'kind.marketing': 'Quảng cáo',
  'rep.issued_q': 'Phát ra (xét hạng)', 'rep.issued_b': 'Phát ra (thưởng)', 'rep.spent': 'Đã dùng',
  'rep.dials': 'Lượt gọi', 'rep.answers': 'Lượt trả lời', 'rep.failures': 'Lỗi',
  'rep.points_totals': 'Tổng: phát ra {0}, đã dùng {1}, {2} bút toán.', 'rep.ussd_totals': 'Tổng: {0} lượt gọi, {1} trả lời, {2} ngắt, {3} lỗi.',
  'audit.actor': 'Người thực hiện', 'audit.action': 'Hành động', 'audit.target': 'Đối tượng', 'audit.filter': 'Lọc', 'audit.when': 'Lúc',
  'audit.change': 'Thay đổi', 'audit.show': 'Xem', 'audit.before': 'Trước', 'audit.after': 'Sau', 'audit.more': 'Cũ hơn',
  'staff.name': 'Tên', 'staff.role': 'Vai trò', 'staff.created': 'Tạo lúc', 'staff.by': 'Người tạo', 'staff.state': 'Tình trạng',
  'staff.active': 'đang dùng', 'staff.disabled': 'vô hiệu từ {0}', 'staff.disable': 'Vô hiệu hóa', 'staff.create': 'Tạo tài khoản',
  'staff.confirm': 'Vô hiệu hóa tài khoản {0}? Mã của tài khoản sẽ ngừng hoạt động ngay.',
  'staff.token': 'Mã truy cập của {0} — chỉ hiển thị một lần, hãy chuyển cho người dùng qua kênh an toàn:',
  'staff.roles': 'Quản trị: mọi việc. Tiếp thị: quà, ưu đãi, chiến dịch, bốc thăm, quay số, báo cáo. Chăm sóc khách hàng: xem thuê bao và tin nhắn, điều chỉnh điểm có lý do (trong hạn mức), điện thoại thử với số chưa là hội viên.',
};

const en = {
  signout: 'Sign out', loading: 'Loading…', empty: 'Nothing yet.', any: 'Any', copy: 'Copy',
  create: 'Create', saved: 'Saved.',
  unavailable: '{0}: this server does not offer this yet (needs {1}).',
  'forbidden.page': 'The {0} role may not use this page.',
  'login.title': 'Sign in to the console', 'login.help': 'Paste the access token an administrator gave you. It is kept in this browser tab only.',
  'login.token': 'Access token', 'login.go': 'Sign in', 'login.bad': 'This token is wrong or has been disabled.',
  'role.admin': 'admin', 'role.marketer': 'marketer', 'role.support': 'support', 'role.partner': 'partner',
  'nav.subscribers': 'Subscribers', 'nav.emulator': 'Phone emulator', 'nav.campaigns': 'SMS campaigns', 'nav.gifts': 'Gifts',
  'nav.offers': 'Offers', 'nav.draws': 'Lucky draws', 'nav.spins': 'Lucky spins', 'nav.reports': 'Reports', 'nav.audit': 'Audit log', 'nav.staff': 'Staff',
  'sub.msisdn': 'MSISDN', 'sub.search': 'Look up', 'sub.none': 'No subscriber {0}.', 'sub.tier': 'Tier', 'sub.status': 'Status',
  'sub.language': 'Language', 'sub.birthday': 'Birthday', 'sub.since': 'Member since', 'sub.dial': 'Dial *090# as this number on the phone emulator →',
  'tier.dong': 'Bronze', 'tier.bac': 'Silver', 'tier.titan': 'Titan', 'tier.vang': 'Gold', 'tier.kim_cuong': 'Diamond',
  'pts.spendable': 'Spendable', 'pts.qualifying': 'Qualifying', 'pts.bonus': 'Bonus', 'pts.expiry': 'Next expiry',
  'adj.title': 'Adjust points', 'adj.points': 'Points (negative to debit)', 'adj.kind': 'Kind', 'adj.reason': 'Reason', 'adj.go': 'Book',
  'adj.help': 'Every adjustment is recorded in the audit log with your name.', 'adj.insufficient': 'Not enough points to debit.',
  'ledger.title': 'Points ledger', 'ledger.when': 'When', 'ledger.points': 'Points', 'ledger.kind': 'Kind', 'ledger.reason': 'Reason', 'ledger.expires': 'Expires',
  'msg.title': 'Messages sent', 'msg.when': 'When', 'msg.text': 'Text', 'msg.status': 'Status',
  'status.queued': 'queued', 'status.held': 'held (quiet hours)', 'status.sending': 'sending', 'status.submitted': 'submitted',
  'status.delivered': 'delivered', 'status.undeliverable': 'undeliverable', 'status.expired': 'expired', 'status.failed': 'failed',
  'emu.idle': 'Type *090# and press call.', 'emu.input': 'Input', 'emu.send': 'Call / Send', 'emu.end': 'End',
  'emu.open': 'In a dialogue — type a choice and press send.', 'emu.ended': 'The dialogue has ended.', 'emu.sms': 'SMS to this number',
  'camp.new': 'New campaign', 'camp.name': 'Name', 'camp.text': 'Text (Vietnamese)', 'camp.text_en': 'English text (optional)',
  'camp.segment': 'Segment (every condition chosen must hold)', 'camp.gender': 'Gender', 'camp.month': 'Birthday month',
  'camp.msisdns': 'Numbers (optional)', 'camp.send': 'Create and send', 'camp.recent': 'Recent campaigns',
  'camp.rules': 'Marketing SMS go out 07:00–22:00 only, within the daily cap, never to numbers that opted out (TC) or are on the do-not-call list.',
  'camp.created': 'Campaign #{0} created for {1} subscribers.', 'camp.recipients': '{0} recipients', 'camp.progress': 'Progress',
  'camp.pause': 'Pause', 'camp.resume': 'Resume', 'camp.cancel': 'Cancel',
  'camp.status.running': 'running', 'camp.status.paused': 'paused', 'camp.status.cancelled': 'cancelled', 'camp.status.done': 'done',
  'camp.more': 'Older',
  'prog.delivered': 'Delivered', 'prog.sent': 'Sent', 'prog.held': 'Held', 'prog.queued': 'Queued', 'prog.failed': 'Failed',
  'gender.f': 'Female', 'gender.m': 'Male',
  'gift.id': '#', 'gift.name': 'Name', 'gift.name_en': 'English name', 'gift.kind': 'Kind', 'gift.occasion': 'Occasion', 'gift.cost': 'Points',
  'gift.tiers': 'Eligible tiers', 'gift.stock': 'Stock', 'gift.claimed': 'Claimed', 'gift.limit': 'Limit per member', 'gift.from': 'From', 'gift.until': 'Until',
  'gift.new': 'New gift', 'gift.create': 'Create gift', 'gift.created': 'Gift #{0} created.', 'gift.activate': 'Activate', 'gift.deactivate': 'Deactivate',
  'gift.help': 'Occasion gifts (birthday, women\'s days, Tết, segment) are free; catalogue gifts cost points. Vouchers draw their codes from the pool below.',
  'occ.catalogue': 'Catalogue', 'occ.birthday': 'Birthday', 'occ.womens_day': 'Women\'s day', 'occ.tet': 'Tết', 'occ.segment': 'Segment',
  'codes.title': 'Upload voucher codes', 'codes.gift': 'Gift', 'codes.text': 'Codes, one per line', 'codes.file': 'or a CSV file (code column)',
  'codes.upload': 'Upload', 'codes.done': '{0} codes accepted, {1} duplicates, {2} rejected.',
  'draw.close': 'Close', 'draw.run': 'Run the draw', 'draw.audit': 'Download audit file', 'draw.witness': 'Witness value (e.g. the dice rolled)',
  'draw.winners': '{0} winners drawn.',
  'draw.cancel': 'Cancel', 'draw.cancel.ask': 'Cancel {0} and refund every entry?', 'draw.refunded': 'Cancelled: {0} points refunded to {1} entries.',
  'json.help': 'JSON body sent to {0}.', 'json.bad': 'That is not valid JSON.',
  'rep.from': 'From', 'rep.to': 'To', 'rep.show': 'Show', 'rep.points': 'Points issued and spent per day',
  'rep.ussd': 'USSD traffic per hour', 'rep.claims': 'Gift claims', 'rep.draws': 'Lucky draws', 'rep.spins': 'Lucky spins', 'rep.sms': 'Outgoing SMS per day',
  'rep.sms_kind': 'Kind', 'rep.sms_messages': 'Messages', 'rep.sms_sent': 'Sent', 'rep.sms_delivered': 'Delivered', 'rep.sms_failed': 'Failed', 'rep.sms_expired': 'Expired',
  'rep.sms_totals': 'Totals: {0} messages, {1} sent, {2} delivered, {3} failed, {4} expired.',
  'kind.transactional': 'Transactional', 'kind.marketing': 'Marketing',
  'rep.issued_q': 'Issued (qualifying)', 'rep.issued_b': 'Issued (bonus)', 'rep.spent': 'Spent',
  'rep.dials': 'Dials', 'rep.answers': 'Answers', 'rep.failures': 'Failures',
  'rep.points_totals': 'Totals: {0} issued, {1} spent, {2} entries.', 'rep.ussd_totals': 'Totals: {0} dials, {1} answers, {2} aborts, {3} failures.',
  'audit.actor': 'Actor', 'audit.action': 'Action', 'audit.target': 'Target', 'audit.filter': 'Filter', 'audit.when': 'When',
  'audit.change': 'Change', 'audit.show': 'Show', 'audit.before': 'Before', 'audit.after': 'After', 'audit.more': 'Older',
  'staff.name': 'Name', 'staff.role': 'Role', 'staff.created': 'Created', 'staff.by': 'Created by', 'staff.state': 'State',
  'staff.active': 'active', 'staff.disabled': 'disabled since {0}', 'staff.disable': 'Disable', 'staff.create': 'Create account',
  'staff.confirm': 'Disable {0}? Their token stops working at once.',
  'staff.token': 'Access token of {0} — shown this once; hand it over by a safe channel:',
  'staff.roles': 'Admin: everything. Marketer: gifts, offers, campaigns, draws, spins, reports. Support: subscribers and their messages, points adjustments with a reason (within the role\'s limits), the phone emulator on numbers that are not members.',
};

const TEXTS = { vi, en };

export function lang() {
  return localStorage.getItem(KEY) === 'en' ? 'en' : 'vi';
}

export function setLang(l) {
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
}

/** The text of key in the current language, with {n} replaced by args[n]. */
export function t(key, ...args) {
  const s = TEXTS[lang()][key] ?? TEXTS.vi[key] ?? key;
  return s.replace(/\{(\d+)\}/g, (_, i) => String(args[i] ?? ''));
}

document.documentElement.lang = lang();
