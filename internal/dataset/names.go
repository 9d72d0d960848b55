package dataset

import "strings"

// The vocabularies the generator draws from. First names never contain a
// space (Ligo splits its single name field at the first space); last names
// may (de la Fontaine, Van der Berg).
var (
	firstNames = []string{
		"Élodie", "Jean-Pierre", "Marie-Claire", "François", "Hélène", "Zoé", "Chloé",
		"Léa", "Maël", "Noémie", "Anaïs", "Gaëlle", "Jérôme", "Thibault", "Amélie",
		"Camille", "Louis", "Inès", "Mathéo", "Benoît", "Céline", "Stéphane",
		"Jean-Baptiste", "Anne-Sophie", "Pierre", "Sophie", "Nicolas", "Julie",
		"Thomas", "Manon", "Hugo", "Clémence", "Lucas", "Émilie", "Antoine",
		"Jürgen", "Søren", "José", "María", "Björn", "Łukasz", "Małgorzata", "Ömer",
		"Çağla", "Siobhán", "Seán", "João", "Sebastián", "Minh", "Linh", "Aiko",
		"Wei", "Priya", "Oluwaseun", "Zoë", "Fatima", "Mohamed", "Yasmine", "Karim",
		"Emily", "James", "Olivia", "William", "Ana-Maria", "Hans-Peter",
	}
	lastNames = []string{
		"Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Girard",
		"Rousseau", "Lambert", "Fontaine", "Chevalier", "Mercier", "Garnier", "Faure",
		"Lemaître", "Bérénger", "Dupont", "Müller", "Ñúñez", "Nguyễn", "Martin-Lefèvre",
		"Dupont-Aignan", "de la Fontaine", "Van der Berg", "de Saint-Exupéry",
		"Da Silva", "dos Santos", "O'Brien", "Schröder", "Kowalski", "Østergaard",
		"García Márquez", "Le Gall", "Le Goff", "d'Almeida", "Nowak", "Yılmaz",
		"Smith", "Johnson", "Tanaka", "Chen", "Patel", "Okafor", "Benali", "Haddad",
		"Rossi", "Ferreira", "Jansen", "Papadopoulos", "von Bülow",
	}
	companies = []string{
		"Atelier Lumière", "Bâtiments Durand & Fils", "Nordwind GmbH", "Café Olé SARL",
		"Quantix", "Hélios Énergie", "Brightpath Ltd", "Société Provençale des Eaux",
		"Studio Coquelicot", "Acme Industries", "Bleu Marine SAS", "Kraftwerk Digital",
		"La Fabrique à Projets", "Nexa Conseil", "Pixel & Craft", "Terre de Sienne",
		"Vertigo Labs", "Zenith Logistique", "Orbital Foods", "Les Jardins d'Élise",
	}
	companyDomains = []string{
		"atelier-lumiere.fr", "durand-fils.fr", "nordwind.de", "cafeole.fr",
		"quantix.io", "helios-energie.fr", "brightpath.co.uk", "spe-eaux.fr",
		"coquelicot.studio", "acme.com", "bleumarine.fr", "kraftwerk.digital",
		"lafabrique.fr", "nexa-conseil.fr", "pixelcraft.io", "terredesienne.it",
		"vertigolabs.com", "zenith-logistique.fr", "orbitalfoods.com", "jardins-elise.fr",
	}
	jobTitles = []string{
		"Directrice commerciale", "Directeur commercial", "Head of Sales", "CTO",
		"Responsable marketing", "Chargé d'affaires", "Chargée de communication",
		"Account Executive", "Fondateur & CEO", "Ingénieure R&D", "Office Manager",
		"Développeur full-stack", "Responsable achats", "Business Developer",
		"Directeur général", "Consultante SEO", "Product Manager", "DRH",
	}
	altJobTitles = []string{
		"VP Sales", "Directeur des opérations", "Head of Growth", "COO",
		"Responsable partenariats", "Customer Success Manager",
	}
	freeDomains = []string{
		"gmail.com", "orange.fr", "free.fr", "wanadoo.fr", "yahoo.fr", "outlook.com",
		"hotmail.fr", "laposte.net", "proton.me", "sfr.fr", "icloud.com", "gmx.de",
	}
	notesText = []string{
		"Rencontré au salon VivaTech.", "Intéressé par l'offre Pro — rappeler en septembre.",
		"A demandé une démo.", "Contact via le site web.", "Recommandé·e par Hélène.",
		"Budget validé pour le T3 ; décision en comité.", "Met at SaaStr, wants pricing.",
		"Ne pas appeler avant 10 h.", "Ancien client, à relancer.",
	}
	addresses = []string{
		"12 rue de la Paix, 75002 Paris", "3 place Bellecour, 69002 Lyon",
		"45 cours Mirabeau, 13100 Aix-en-Provence", "8 quai des Chartrons, 33000 Bordeaux",
		"Friedrichstraße 123, 10117 Berlin", "221B Baker Street, London NW1 6XE",
		"1 Market St, San Francisco, CA 94105", "27 allée Jean Jaurès, 31000 Toulouse",
	}
	plusTags = []string{"crm", "newsletter", "pro", "work"}
)

// The folded forms of firstNames and lastNames, computed once.
var foldedFirst, foldedLast = foldAll(firstNames), foldAll(lastNames)

func foldAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fold(n)
	}
	return out
}

// fold maps a name to the lower-case ASCII form used in email addresses and
// LinkedIn slugs: accents dropped, spaces and apostrophes removed.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ' || r == '\'':
			// dropped
		default:
			if f, ok := foldTable[r]; ok {
				b.WriteString(f)
			}
		}
	}
	return b.String()
}

var foldTable = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a", 'ą': "a",
	'æ': "ae", 'ç': "c", 'ć': "c", 'č': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ę': "e", 'ễ': "e", 'ế': "e", 'ệ': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ı': "i",
	'ñ': "n", 'ń': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ø': "o",
	'œ': "oe", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y",
	'ß': "ss", 'ł': "l", 'ğ': "g", 'ş': "s", 'š': "s", 'ž': "z", 'ź': "z", 'ż': "z",
}
