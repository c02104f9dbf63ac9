package store

import "strings"

// Names for demo users, from many languages and scripts. Each name is
// "display" or "display|latin": the Latin form, when the display form is in
// another script, is what the email address is made of.

type demoCulture struct {
	weight int // relative share of the users
	given  []string
	family []string
	// familyFirst cultures write the family name first in full (张伟);
	// the roster still stores them in first_name and last_name.
	familyFirst bool
}

var demoCultures = []demoCulture{
	{weight: 26, // English
		given: split("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica " +
			"Thomas Sarah Christopher Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Donald Ashley Steven Emily Andrew Kimberly " +
			"Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ann Anna Hannah Olivia"),
		family: split("Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Thompson " +
			"White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts " +
			"Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers O'Brien O'Neil McDonald Fitzgerald")},
	{weight: 9, // Spanish
		given: split("José María Ángel Lucía Alejandro Sofía Javier Martina Andrés Valentina Jesús Camila Raúl Inés Sebastián Paula " +
			"Álvaro Carmen Tomás Begoña Iñaki Nuria Óscar Adrián Ximena Rocío"),
		family: split("García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz " +
			"Muñoz Álvarez Jiménez Romero Ruiz Ortiz Castillo Vázquez Núñez Ibáñez Peña")},
	{weight: 6, // French
		given: split("Élodie Chloé François Hélène Jérôme Amélie Léa Théo Noémie Benoît Gaëlle Loïc Cécile Étienne Zoé Maël Océane " +
			"Raphaël Manon Anaïs Lucas Camille Hugo Inès Clément"),
		family: split("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Michel Garnier " +
			"Faure Rousseau Blanc Guérin Mercier Boyer Lemaître Chevalier Bonnet Dupré")},
	{weight: 5, // German
		given: split("Jürgen Jörg Lukas Leonie Maximilian Sophie Felix Marie Jonas Lena Günter Käthe Björn Mia Tobias Ursula Dörte " +
			"Moritz Annika Sören"),
		family: split("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schröder Koch Bäcker Weiß Krüger " +
			"Groß Köhler Möller Lange Vogel")},
	{weight: 4, // Polish
		given: split("Łukasz Agnieszka Małgorzata Krzysztof Paweł Katarzyna Michał Magdalena Tomasz Zofia Wojciech Joanna Grzegorz " +
			"Barbara Jędrzej Żaneta"),
		family: split("Kowalski Nowak Wiśniewski Wójcik Kowalczyk Kamińska Lewandowski Zieliński Szymański Woźniak Dąbrowski " +
			"Kozłowski Jankowska Mazur Krawczyk Piotrowska")},
	{weight: 3, // Nordic
		given: split("Åsa Søren Bjørn Ørjan Astrid Sigrid Lars Ingrid Mikael Freja Æsir Kåre Linnéa Oskar Elin Sölvi"),
		family: split("Johansson Nielsen Sørensen Andersson Hansen Larsen Karlsson Pedersen Lindqvist Bergström Jørgensen " +
			"Åberg Öberg Ståhl Håkansson Nyström")},
	{weight: 3, // Turkish
		given:  split("Çağla Gökhan Şule Mehmet Ayşe Mustafa Emine Ahmet Fatma Hüseyin Zeynep İbrahim Elif Ömer Özlem Burak"),
		family: split("Yılmaz Kaya Demir Çelik Şahin Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Kara")},
	{weight: 3, // Portuguese and Italian
		given: split("João Conceição Luís Inês Gonçalo Beatriz Tomé Leonor Giuseppe Giulia Francesco Chiara Niccolò Lucrezia " +
			"Alessandro Federica"),
		family: split("Silva Santos Ferreira Pereira Gonçalves Magalhães Simões Conceição Rossi Russo Ferrari Esposito Bianchi " +
			"Romano Colombo D'Angelo")},
	{weight: 3, // Vietnamese
		given:  split("An Bảo Chi Dũng Hà Hạnh Hùng Khánh Lan Linh Minh Ngọc Phương Quang Thảo Trung Tuấn Vy"),
		family: split("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý")},
	{weight: 6, // Russian and Ukrainian
		given: split("Иван|Ivan Ольга|Olga Дмитрий|Dmitry Наталья|Natalya Сергей|Sergey Екатерина|Ekaterina Алексей|Alexey " +
			"Анна|Anna Михаил|Mikhail Татьяна|Tatyana Андрей|Andrey Юлия|Yulia Олександр|Oleksandr Олена|Olena Богдан|Bohdan " +
			"Оксана|Oksana Тарас|Taras Ірина|Iryna"),
		family: split("Иванов|Ivanov Смирнов|Smirnov Кузнецов|Kuznetsov Попов|Popov Васильев|Vasiliev Петров|Petrov " +
			"Соколов|Sokolov Михайлов|Mikhailov Новиков|Novikov Фёдоров|Fedorov Морозов|Morozov Волков|Volkov " +
			"Шевченко|Shevchenko Коваленко|Kovalenko Бондаренко|Bondarenko Ткаченко|Tkachenko Кравчук|Kravchuk Мельник|Melnyk")},
	{weight: 2, // Greek
		given: split("Γιώργος|Giorgos Μαρία|Maria Νίκος|Nikos Ελένη|Eleni Δημήτρης|Dimitris Κατερίνα|Katerina " +
			"Γιάννης|Giannis Σοφία|Sofia Κώστας|Kostas Αθηνά|Athina"),
		family: split("Παπαδόπουλος|Papadopoulos Παπαδάκης|Papadakis Γεωργίου|Georgiou Νικολάου|Nikolaou " +
			"Οικονόμου|Oikonomou Αντωνίου|Antoniou Μακρής|Makris Βλάχος|Vlachos")},
	{weight: 6, // Arabic
		given: split("محمد|Mohammed فاطمة|Fatima أحمد|Ahmed علي|Ali عائشة|Aisha عمر|Omar مريم|Maryam يوسف|Youssef " +
			"خديجة|Khadija حسن|Hassan زينب|Zainab إبراهيم|Ibrahim ليلى|Layla خالد|Khaled نور|Nour سارة|Sara"),
		family: split("العلي|Al-Ali الحسيني|Al-Husseini حداد|Haddad منصور|Mansour الخطيب|Al-Khatib عبدالله|Abdullah " +
			"الزهراء|Al-Zahra سليمان|Suleiman الشامي|Al-Shami ناصر|Nasser حمدان|Hamdan عيسى|Issa")},
	{weight: 1, // Hebrew
		given:  split("דוד|David שרה|Sarah יוסף|Yosef רחל|Rachel משה|Moshe נועה|Noa אברהם|Avraham תמר|Tamar"),
		family: split("כהן|Cohen לוי|Levi מזרחי|Mizrahi פרץ|Peretz ביטון|Biton אברהם|Avraham פרידמן|Friedman")},
	{weight: 8, familyFirst: true, // Chinese
		given: split("伟|Wei 芳|Fang 娜|Na 秀英|Xiuying 敏|Min 静|Jing 丽|Li 强|Qiang 磊|Lei 军|Jun 洋|Yang 勇|Yong " +
			"艳|Yan 杰|Jie 娟|Juan 涛|Tao 明|Ming 超|Chao 秀兰|Xiulan 霞|Xia 欣怡|Xinyi 浩然|Haoran 子涵|Zihan 宇轩|Yuxuan"),
		family: split("王|Wang 李|Li 张|Zhang 刘|Liu 陈|Chen 杨|Yang 黄|Huang 赵|Zhao 吴|Wu 周|Zhou 徐|Xu 孙|Sun " +
			"马|Ma 朱|Zhu 胡|Hu 郭|Guo 何|He 林|Lin 欧阳|Ouyang 司马|Sima")},
	{weight: 3, familyFirst: true, // Japanese
		given: split("翔太|Shota 陽菜|Hina 大翔|Hiroto 結衣|Yui 蓮|Ren 美咲|Misaki 悠真|Yuma 葵|Aoi 健|Ken さくら|Sakura " +
			"拓海|Takumi 七海|Nanami"),
		family: split("佐藤|Sato 鈴木|Suzuki 高橋|Takahashi 田中|Tanaka 伊藤|Ito 渡辺|Watanabe 山本|Yamamoto 中村|Nakamura " +
			"小林|Kobayashi 加藤|Kato 吉田|Yoshida 山田|Yamada")},
	{weight: 3, familyFirst: true, // Korean
		given:  split("민준|Minjun 서연|Seoyeon 지우|Jiwoo 서준|Seojun 하은|Haeun 도윤|Doyun 지민|Jimin 수아|Sua 예준|Yejun 지호|Jiho"),
		family: split("김|Kim 이|Lee 박|Park 최|Choi 정|Jung 강|Kang 조|Cho 윤|Yoon 장|Jang 임|Lim")},
	{weight: 6, // Indian
		given: split("Aarav Priya Rohan Ananya Vivaan Diya Arjun Isha Aditya Kavya Sai Saanvi Rahul Neha Vikram Pooja " +
			"अर्जुन|Arjun प्रिया|Priya"),
		family: split("Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Das Mehta Chatterjee Banerjee Rao Joshi Verma Pillai " +
			"शर्मा|Sharma")},
	{weight: 3, // West and East African
		given:  split("Chukwuemeka Ngozi Oluwaseun Adaeze Kwame Ama Kofi Abena Tendai Wanjiru Jomo Amani Thabo Zanele Babajide Chiamaka"),
		family: split("Okonkwo Adeyemi Okafor Mensah Boateng Osei Kamau Otieno Mwangi Dlamini Nkosi Moyo Eze Balogun Abiodun Achebe")},
}

func split(s string) []string { return strings.Fields(s) }

// demoDomains are reserved example domains only (RFC 2606): a demo user
// someone later re-invites must not be a stranger's real address.
var demoDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "corp.example", "staff.example.org"}

// asciiFold maps the Latin letters with diacritics used above (and their
// neighbours) to what people type in an email address.
var asciiFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ą", "a", "ă", "a", "ạ", "a", "ả", "a", "ấ", "a", "ầ", "a", "ậ", "a",
	"æ", "ae", "ç", "c", "ć", "c", "č", "c", "đ", "d", "ď", "d",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "ę", "e", "ě", "e", "ễ", "e", "ệ", "e", "ế", "e", "ề", "e",
	"ğ", "g", "í", "i", "ì", "i", "î", "i", "ï", "i", "ı", "i", "ị", "i", "ł", "l", "ñ", "n", "ń", "n", "ň", "n",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o", "ő", "o", "ơ", "o", "ọ", "o", "ỗ", "o", "ồ", "o", "ố", "o", "ộ", "o", "ở", "o", "ớ", "o",
	"ř", "r", "ś", "s", "š", "s", "ş", "s", "ß", "ss", "ť", "t", "ú", "u", "ù", "u", "û", "u", "ü", "u", "ů", "u", "ư", "u", "ũ", "u", "ủ", "u", "ụ", "u",
	"ý", "y", "ÿ", "y", "ỳ", "y", "ź", "z", "ż", "z", "ž", "z", "'", "", "’", "", " ", "", "-", "", "\u0307", "",
)
