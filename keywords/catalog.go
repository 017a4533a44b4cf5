package keywords

import (
	"fmt"

	"github.com/care360/care360"
)

// msg names a reply in the catalog.
type msg string

// catalog holds every reply in Vietnamese with diacritics and in English;
// plain "vi" is the fold of the Vietnamese (care360.Localize), so the three
// never drift apart. Replies to a keyword are one SMS where they can be:
// 160 GSM-7 characters folded, 70 UCS-2 with diacritics.
var catalog = map[msg][2]string{ // [vi-unicode, en]
	"help": {"Care360: DIEM xem điểm; DK đăng ký; CD <số TB> <điểm> tặng điểm; QUA xem quà; GY <góp ý>; TC từ chối tin QC, DK QC nhận lại. Gửi %s hoặc bấm %s",
		"Care360: DIEM points; DK join; CD <number> <points> give points; QUA gifts; GY <feedback>; TC stop ads, DK QC restart. Text %s or dial %s"},
	"not.member":      {"Quý khách chưa là hội viên Kết nối dài lâu. Soạn DK gửi %s để đăng ký miễn phí.", "You are not a member yet. Text DK to %s to join for free."},
	"suspended":       {"Tài khoản hội viên đang tạm khóa. Liên hệ 9090.", "Your membership is suspended. Call 9090."},
	"points.tier":     {"Hạng: %s", "Tier: %s"},
	"points.spend":    {"Điểm khả dụng: %s", "Spendable points: %s"},
	"points.qual":     {"Điểm xét hạng: %s", "Qualifying points: %s"},
	"points.expiry":   {"Sắp hết hạn: %s điểm ngày %s", "Expiring: %s points on %s"},
	"points.noexpiry": {"Không có điểm sắp hết hạn", "No points expiring"},
	"points.next":     {"Cần %s điểm để lên %s", "%s points to reach %s"},
	"points.top":      {"Quý khách đang ở hạng cao nhất", "You hold the highest tier"},
	"dk.done":         {"Chúc mừng! Quý khách đã là hội viên Kết nối dài lâu hạng %s. Soạn DIEM gửi %s để xem điểm, bấm %s để xem ưu đãi.", "Welcome to the club! You are now a %s member. Text DIEM to %s for your points, dial %s for offers."},
	"dk.already":      {"Quý khách đã là hội viên hạng %s. Soạn DIEM gửi %s để xem điểm.", "You are already a %s member. Text DIEM to %s for your points."},
	"qc.on":           {"Quý khách sẽ nhận lại tin khuyến mại của MobiFone Care360. Soạn TC gửi %s để từ chối.", "You will get Care360 offers again. Text TC to %s to stop them."},
	"tc.done":         {"Quý khách đã từ chối nhận tin quảng cáo của MobiFone Care360. Soạn DK QC gửi %s để nhận lại.", "You will get no more Care360 ads. Text DK QC to %s to get them again."},
	"qua.list":        {"Quà của quý khách: %s. Bấm %s, chọn Quà tặng để nhận.", "Your gifts: %s. Dial %s, Gifts, to claim them."},
	"qua.free":        {"%s (miễn phí)", "%s (free)"},
	"qua.cost":        {"%s: %s điểm", "%s: %s points"},
	"qua.none":        {"Hiện chưa có quà tặng nào dành cho quý khách. Bấm %s để xem ưu đãi.", "There are no gifts for you right now. Dial %s for offers."},
	"cd.usage":        {"Sai cú pháp. Soạn CD <số thuê bao> <số điểm> gửi %s, ví dụ: CD 0903123456 500", "Wrong format. Text CD <number> <points> to %s, e.g. CD 0903123456 500"},
	"cd.number":       {"Số thuê bao %s không hợp lệ.", "%s is not a valid mobile number."},
	"cd.ask":          {"Quý khách muốn tặng %s điểm cho %s? Soạn Y gửi %s trong %d phút để xác nhận.", "Give %s points to %s? Text Y to %s within %d minutes to confirm."},
	"cd.tier":         {"Chỉ hội viên hạng %s trở lên được tặng điểm.", "Only %s members and above can give points."},
	"cd.amount":       {"Số điểm tặng phải là bội số của %s, tối thiểu %s điểm.", "Points must be a multiple of %s, at least %s."},
	"cd.self":         {"Quý khách không thể tặng điểm cho chính mình.", "You cannot give points to yourself."},
	"cd.recipient":    {"Số %s chưa là hội viên Kết nối dài lâu nên chưa nhận được điểm.", "%s is not a member, so cannot receive points."},
	"cd.points":       {"Không đủ điểm: quý khách có %s điểm khả dụng.", "Not enough points: you have %s spendable."},
	"cd.hold":         {"Quý khách vừa đổi SIM: để bảo vệ tài khoản, tặng điểm tạm khóa đến %s. Xem điểm vẫn được.", "Your SIM was just swapped: to protect your points, giving them is on hold until %s. You can still check them."},
	"cd.cap":          {"Quý khách đã tặng tối đa %s điểm trong tháng này.", "You have given the most allowed this month (%s points)."},
	"cd.cancelled":    {"Giao dịch tặng điểm đã được hủy.", "Your points gift was cancelled."},
	"y.sender":        {"Quý khách đã tặng %s điểm cho %s. Điểm khả dụng còn lại: %s.", "You gave %s points to %s. Spendable points left: %s."},
	"y.recipient":     {"Quý khách vừa nhận %s điểm thưởng từ thuê bao %s. Điểm khả dụng: %s. Soạn DIEM gửi %s để xem chi tiết.", "You received %s bonus points from %s. Spendable points: %s. Text DIEM to %s for details."},
	"y.none":          {"Không có giao dịch tặng điểm nào đang chờ xác nhận.", "No points gift is waiting for confirmation."},
	"gy.usage":        {"Soạn GY <nội dung> gửi %s để gửi câu hỏi, góp ý tới bộ phận Chăm sóc khách hàng.", "Text GY <your message> to %s to send customer care a question or feedback."},
	"gy.thanks":       {"Care360 đã nhận góp ý của quý khách và sẽ trả lời qua SMS sớm nhất. Xin cảm ơn!", "Care360 has your message and will answer by SMS soon. Thank you!"},
	"huy.ask":         {"Quý khách muốn rời chương trình Kết nối dài lâu? Điểm và quà chưa dùng sẽ bị hủy. Soạn Y gửi %s trong %d phút để xác nhận.", "Leave the loyalty club? Your points and unused gifts will be lost. Text Y to %s within %d minutes to confirm."},
	"huy.done":        {"Quý khách đã rời chương trình Kết nối dài lâu. Cảm ơn quý khách! Soạn DK gửi %s để tham gia lại.", "You have left the loyalty club. Thank you! Text DK to %s to join again."},
	"y.expired":       {"Giao dịch tặng điểm đã hết hạn xác nhận. Vui lòng soạn lại CD.", "Your points gift was not confirmed in time. Please send CD again."},
}

// text renders a catalog entry in lang.
func text(lang care360.Language, key msg, args ...any) string {
	e, ok := catalog[key]
	if !ok {
		panic("keywords: no message " + string(key))
	}
	s := care360.Localize(lang, e[0], e[1])
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// number writes n with the language's thousands separator: 12.345 in
// Vietnamese, 12,345 in English.
func number(n int64, lang care360.Language) string {
	sep := "."
	if lang == care360.LangEn {
		sep = ","
	}
	s := fmt.Sprint(max(n, -n))
	out := ""
	for len(s) > 3 {
		out, s = sep+s[len(s)-3:]+out, s[:len(s)-3]
	}
	if n < 0 {
		s = "-" + s
	}
	return s + out
}
